"""The one parser of the report API's time parameters (services.analytics.filters): RFC 3339
instants as they are, plain dates as local days -- of the regions' zone, else Moscow -- with
`to` including its whole day. Every expected value is a fixed instant; nothing reads the clock.
"""

from __future__ import annotations

import pytest

from schemas.events import parse_timestamp
from services.analytics.filters import (
    FilterError,
    parse_instant,
    parse_range,
    report_filters,
    zone_for_regions,
)
from services.analytics.params import INSTANT_OR_DATE_PATTERN


def ms(text: str) -> int:
    return parse_timestamp(text)


def test_a_plain_date_is_moscow_midnight_by_default() -> None:
    # Moscow keeps UTC+3 all year (no DST since 2014): midnight is 21:00 UTC the day before
    assert parse_instant("from", "2026-12-01") == ms("2026-11-30T21:00:00Z")
    assert parse_instant("from", "2026-07-01") == ms("2026-06-30T21:00:00Z")


def test_an_end_date_includes_its_whole_day() -> None:
    assert parse_instant("to", "2026-12-07", end=True) == ms("2026-12-07T21:00:00Z")
    assert parse_instant("to", "2026-12-31", end=True) == ms("2026-12-31T21:00:00Z")


def test_a_plain_date_in_another_zone() -> None:
    zone = zone_for_regions(["novosibirsk"])
    assert zone == "Asia/Novosibirsk"
    assert parse_instant("from", "2026-12-01", zone) == ms("2026-11-30T17:00:00Z")  # UTC+7
    assert parse_instant("to", "2026-12-07", zone, end=True) == ms("2026-12-07T17:00:00Z")


def test_instants_are_taken_as_they_are_in_any_zone() -> None:
    for zone in ("Europe/Moscow", "Asia/Novosibirsk"):
        assert parse_instant("from", "2026-12-01T09:15:00.250+07:00", zone) == ms(
            "2026-12-01T02:15:00.250Z")
        assert parse_instant("to", "2026-12-01T00:00:00Z", zone, end=True) == ms(
            "2026-12-01T00:00:00Z")  # an instant is exclusive, not "the whole day"


def test_the_week_of_the_issue() -> None:
    week = parse_range("2026-12-01", "2026-12-07", max_days=400)
    assert (week.start_ms, week.end_ms) == (ms("2026-11-30T21:00:00Z"), ms("2026-12-07T21:00:00Z"))
    assert week.end_ms - week.start_ms == 7 * 86_400_000
    one_day = parse_range("2026-12-07", "2026-12-07", max_days=1)  # from = to: that one day
    assert one_day.end_ms - one_day.start_ms == 86_400_000


def test_the_boundary_at_local_midnight() -> None:
    """A clock that starts at 00:00:00.000 local on the 1st is in; one a millisecond before
    is not; the last millisecond of the 7th is in, local midnight of the 8th is not."""
    week = parse_range("2026-12-01", "2026-12-07", max_days=400, regions=["novosibirsk"])

    def inside(instant: str) -> bool:
        return week.start_ms <= ms(instant) < week.end_ms

    assert inside("2026-12-01T00:00:00.000+07:00")
    assert not inside("2026-11-30T23:59:59.999+07:00")
    assert inside("2026-12-07T23:59:59.999+07:00")
    assert not inside("2026-12-08T00:00:00.000+07:00")
    # the same wall-clock instant in Moscow is four hours later: outside Novosibirsk's week
    assert not inside("2026-12-07T23:00:00+03:00")


def test_a_date_and_an_instant_mix() -> None:
    period = parse_range("2026-12-01", "2026-12-01T12:00:00Z", max_days=400)
    assert (period.start_ms, period.end_ms) == (ms("2026-11-30T21:00:00Z"),
                                                ms("2026-12-01T12:00:00Z"))


def test_regions_of_one_zone_share_a_day_and_of_two_zones_do_not() -> None:
    assert zone_for_regions(["tver", "kursk", "moscow"]) == "Europe/Moscow"
    assert zone_for_regions([]) == "Europe/Moscow"
    assert zone_for_regions(["no-such-region"]) == "Europe/Moscow"  # unknown: home zone
    with pytest.raises(FilterError, match="2 time zones"):
        parse_range("2026-12-01", "2026-12-07", 400, regions=["tver", "novosibirsk"])
    # instants need no zone: regions of several zones are fine with them
    parse_range("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", 400,
                regions=["tver", "novosibirsk"])


def test_report_filters_read_dates_in_the_regions_zone() -> None:
    filters = report_filters(start="2026-12-01", end="2026-12-07", max_days=400,
                             region=["novosibirsk"])
    assert filters.period.start_ms == ms("2026-11-30T17:00:00Z")
    assert filters.regions == ("novosibirsk",)


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2026-12-01 00:00", "2026-12-07", "from: .*need a 'T'"),
    ("2026-13-01", "2026-12-07", "from: '2026-13-01' is not a calendar date"),
    ("2026-02-30", "2026-03-07", "from: .*not a calendar date"),
    ("2026-12-01", "yesterday", "to: .*not an RFC 3339 timestamp.*or a plain date"),
    ("2026-12-01", "2026-12-07T00:00:00", "to: .*no offset"),
    ("2026-12-01", "9999-12-31", "to: .*outside the years 1970..2299"),
    ("0001-01-01", "2026-12-07", "from: .*outside the years 1970..2299"),
    ("1969-12-31T23:59:59Z", "1970-01-02", "from: .*outside the years 1970..2299 .UTC."),
    ("2026-12-01", "20026-12-07", "to: "),
    ("2026-12-08", "2026-12-07", "to must be later than from"),
    ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", "to must be later than from"),
    ("2026-01-01", "2026-12-07", "limited to 30 days"),
    ("", "2026-12-07", "from: "),
])
def test_bad_bounds_name_the_parameter(start: str, end: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_range(start, end, max_days=30)


def test_the_declared_pattern_matches_what_the_parser_accepts() -> None:
    import re

    pattern = re.compile(INSTANT_OR_DATE_PATTERN)
    for good in ("2026-12-01", "2026-12-01T09:15:00Z", "2026-12-01t09:15:00.123456+07:00"):
        assert pattern.search(good)
        parse_instant("from", good)
    for bad in ("2026-12-01 09:15", "2026-12-01T09:15:00", "1969-12-31", "2300-01-01",
                "20261201"):
        assert not pattern.search(bad)
        with pytest.raises(FilterError):
            parse_instant("from", bad)


def test_the_cli_reads_from_and_to_as_the_api_does() -> None:
    from services.cli.history import scope_options
    from services.errors import UserError

    scope = scope_options("mrsk", "2026-12-01", "2026-12-07")
    assert (scope.start_ms, scope.end_ms) == (ms("2026-11-30T21:00:00Z"),
                                              ms("2026-12-07T21:00:00Z"))
    scope = scope_options(None, "2026-12-01T09:00:00+03:00", None)
    assert (scope.start_ms, scope.end_ms) == (ms("2026-12-01T06:00:00Z"), None)
    with pytest.raises(UserError, match="--from"):
        scope_options(None, "01.12.2026", None)
    with pytest.raises(UserError, match="later"):
        scope_options(None, "2026-12-07", "2026-12-01")
