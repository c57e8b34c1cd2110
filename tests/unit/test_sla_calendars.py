"""The Russian production calendar and working-hours arithmetic, checked on known dates."""

from __future__ import annotations

from datetime import date

import pytest

from streams.sla.calendars import (
    ALWAYS_ON,
    CalendarError,
    get_calendar,
    is_ru_working_day,
    validate_calendar_id,
)
from streams.sla.regions import MRSK_CENTER_REGIONS, REGION_TIMEZONES, timezone_for
from tests.fixtures.sla import MIN, H, at

# Official production calendar (Government decrees of 2024-2025 on moving days off).
KNOWN_DAYS = [
    (date(2025, 1, 8), False),  # New Year holidays
    (date(2025, 1, 9), True),
    (date(2025, 5, 2), False),  # moved from Sat 4 January
    (date(2025, 5, 8), False),  # moved from Sun 23 February
    (date(2025, 6, 13), False),  # moved from Sat 8 March
    (date(2025, 11, 1), True),  # Saturday that is a working day
    (date(2025, 11, 3), False),  # moved from Sat 1 November
    (date(2025, 11, 4), False),  # Unity Day
    (date(2025, 12, 31), False),  # moved from Sun 5 January
    (date(2026, 1, 9), False),  # moved from Sat 3 January
    (date(2026, 1, 12), True),
    (date(2026, 3, 9), False),  # 8 March falls on a Sunday
    (date(2026, 5, 11), False),  # 9 May falls on a Saturday
    (date(2026, 12, 31), False),  # moved from Sun 4 January
    (date(2026, 11, 28), False),  # an ordinary Saturday
    (date(2026, 11, 27), True),  # an ordinary Friday
]


@pytest.mark.parametrize(("day", "working"), KNOWN_DAYS, ids=[str(d) for d, _ in KNOWN_DAYS])
def test_production_calendar_known_days(day: date, working: bool) -> None:
    assert is_ru_working_day(day) is working


def test_region_table_covers_mrsk_center_and_other_zones() -> None:
    assert len(MRSK_CENTER_REGIONS) == 11
    assert all(REGION_TIMEZONES[r] == "Europe/Moscow" for r in MRSK_CENTER_REGIONS)
    assert REGION_TIMEZONES["samara"] == "Europe/Samara"
    assert REGION_TIMEZONES["yekaterinburg"] == "Asia/Yekaterinburg"
    assert REGION_TIMEZONES["novosibirsk"] == "Asia/Novosibirsk"
    assert timezone_for("atlantis") == "Europe/Moscow"


def test_always_on_counts_every_millisecond() -> None:
    assert ALWAYS_ON.measure(1000, 5000) == 4000
    assert ALWAYS_ON.measure(5000, 1000) == 0
    assert ALWAYS_ON.reach(1000, 40_000) == 41_000


# ru-workdays-9-18 in Kursk (UTC+3): 09:00-18:00 local = 06:00-15:00 UTC.
WORKDAY_CASES = [
    # (start, end, counted) -- Friday 17:00 MSK to Monday 10:00 MSK: 1 h + 1 h
    ("2026-11-27T14:00:00Z", "2026-11-30T07:00:00Z", 2 * H),
    # within one day
    ("2026-11-27T06:00:00Z", "2026-11-27T15:00:00Z", 9 * H),
    # a weekend only
    ("2026-11-28T06:00:00Z", "2026-11-29T15:00:00Z", 0),
    # Fri 31 Oct 2025 17:00 MSK -> Mon 3 Nov: Sat 1 Nov works (9 h), Mon 3 Nov is a day off
    ("2025-10-31T14:00:00Z", "2025-11-04T00:00:00Z", H + 9 * H),
    # before opening and after closing count nothing
    ("2026-11-27T03:00:00Z", "2026-11-27T06:30:00Z", 30 * MIN),
]


@pytest.mark.parametrize(("start", "end", "counted"), WORKDAY_CASES)
def test_workdays_measure(start: str, end: str, counted: int) -> None:
    cal = get_calendar("ru-workdays-9-18", "kursk")
    assert cal.measure(at(start), at(end)) == counted


def test_workdays_reach_crosses_weekend_and_transferred_day() -> None:
    cal = get_calendar("ru-workdays-9-18", "kursk")
    # Friday 17:00 MSK + 2 h -> Monday 10:00 MSK
    assert cal.reach(at("2026-11-27T14:00:00Z"), 2 * H) == at("2026-11-30T07:00:00Z")
    # Friday 31 Oct 2025 17:00 MSK + 2 h -> Saturday 1 Nov 10:00 MSK (a working Saturday)
    assert cal.reach(at("2025-10-31T14:00:00Z"), 2 * H) == at("2025-11-01T07:00:00Z")
    # Saturday 1 Nov 2025 17:30 MSK + 1 h -> Wednesday 5 Nov 09:30 (3 and 4 Nov are off)
    assert cal.reach(at("2025-11-01T14:30:00Z"), H) == at("2025-11-05T06:30:00Z")
    # 31 Dec 2025 + New Year holidays: first working hour of 2026 is Monday 12 January
    assert cal.reach(at("2025-12-30T15:00:00Z"), 1) == at("2026-01-12T06:00:00.001Z")


def test_workdays_follow_the_region_time_zone() -> None:
    start = at("2026-11-27T00:00:00Z")
    # 09:00 Novosibirsk (UTC+7) = 02:00 UTC; 09:00 Samara (UTC+4) = 05:00 UTC
    assert get_calendar("ru-workdays-9-18", "novosibirsk").reach(start, 1) == at(
        "2026-11-27T02:00:00.001Z"
    )
    assert get_calendar("ru-workdays-9-18", "samara").reach(start, 1) == at(
        "2026-11-27T05:00:00.001Z"
    )
    assert get_calendar("ru-workdays-08:30-17:30", "kursk").reach(start, 1) == at(
        "2026-11-27T05:30:00.001Z"
    )


@pytest.mark.parametrize("bad", ["9-18", "ru-workdays-18-9", "ru-workdays-9-25", "business"])
def test_bad_calendar_ids_are_rejected(bad: str) -> None:
    with pytest.raises(CalendarError):
        validate_calendar_id(bad)
