"""Load shapes of the simulator: daily and weekly profiles, the production calendar, storms,
and waits that come from the queue (more agents, shorter waits)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from schemas.events import Channel, ContactEvent, EventType, parse_timestamp
from services.simulator.generate import generate
from services.simulator.model import SimConfig, Storm
from streams.sla.clock import Status, evaluate
from streams.sla.policy import load_policy
from streams.sla.state import build_state

MOSCOW = ZoneInfo("Europe/Moscow")


def _local(e: ContactEvent) -> datetime:
    return datetime.fromtimestamp(e.occurred_at / 1000, MOSCOW)


def _received(config: SimConfig, channel: Channel) -> list[ContactEvent]:
    return [e for e in generate(config) if e.type is EventType.RECEIVED and e.channel is channel]


def test_phone_load_peaks_on_weekday_mornings() -> None:
    # Sat 2026-11-07 .. Tue 2026-11-10 Moscow time; grid company only.
    config = SimConfig(
        seed=3,
        start_ms=parse_timestamp("2026-11-06T21:00:00Z"),
        days=4,
        tenants=("mrsk-center",),
        load_factor=0.4,
    )
    calls = _received(config, Channel.PHONE)
    by_hour = Counter(_local(e).hour for e in calls if _local(e).weekday() < 5)
    assert max(by_hour, key=by_hour.__getitem__) in (8, 9, 10, 11)
    assert by_hour[10] > 5 * max(by_hour[h] for h in range(0, 5))
    by_day = Counter(_local(e).date() for e in calls)
    assert by_day[date(2026, 11, 9)] > 1.8 * by_day[date(2026, 11, 8)]  # Monday vs Sunday


def test_email_is_spread_over_the_day() -> None:
    config = SimConfig(
        seed=3,
        start_ms=parse_timestamp("2026-11-09T21:00:00Z"),
        days=2,
        tenants=("mrsk-center",),
        load_factor=0.5,
    )
    by_hour = Counter(_local(e).hour for e in _received(config, Channel.EMAIL))
    daytime = sum(by_hour[h] for h in range(9, 18)) / 9
    evening = sum(by_hour[h] for h in range(18, 23)) / 5
    assert evening > 0.5 * daytime


def _office_days(start: str, days: int) -> Counter[date]:
    config = SimConfig(
        seed=5,
        start_ms=parse_timestamp(start),
        days=days,
        tenants=("energosbyt",),
        load_factor=0.3,
    )
    visits = _received(config, Channel.IN_PERSON)
    for e in visits:
        assert 8 <= _local(e).hour < 17, _local(e)
    return Counter(_local(e).date() for e in visits)


def test_offices_close_on_public_holidays_and_reopen_after() -> None:
    days = _office_days("2026-01-04T21:00:00Z", 8)  # Mon 5 Jan .. Mon 12 Jan 2026
    for holiday in range(5, 12):  # New Year holidays, 9 Jan moved day off, weekend
        assert days[date(2026, 1, holiday)] == 0, holiday
    assert days[date(2026, 1, 12)] > 20


def test_offices_open_on_a_transferred_working_saturday() -> None:
    days = _office_days("2025-10-31T21:00:00Z", 8)  # Sat 1 Nov 2025 (working) .. Sat 8 Nov
    assert days[date(2025, 11, 1)] > 20
    assert days[date(2025, 11, 2)] == 0 and days[date(2025, 11, 8)] == 0
    assert days[date(2025, 11, 4)] == 0  # Unity Day
    assert days[date(2025, 11, 5)] > 20


def _phone_waits(agents: int) -> tuple[float, float]:
    """(mean wait s, share waiting > 40 s) of the heat supplier's calls on one weekday."""
    config = SimConfig(
        seed=9,
        start_ms=parse_timestamp("2026-11-10T00:00:00Z"),
        days=1,
        tenants=("teploset",),
        agents_per_queue=agents,
    )
    queued: dict[str, int] = {}
    waits = []
    for e in generate(config):
        if e.channel is not Channel.PHONE:
            continue
        if e.type is EventType.QUEUED:
            queued[e.contact_id] = e.occurred_at
        elif e.type in (EventType.ANSWERED, EventType.ABANDONED):
            waits.append((e.occurred_at - queued[e.contact_id]) / 1000)
    return mean(waits), sum(w > 40 for w in waits) / len(waits)


def test_more_agents_shorter_waits() -> None:
    results = [_phone_waits(agents) for agents in (1, 2, 5)]
    waits = [r[0] for r in results]
    breaches = [r[1] for r in results]
    assert waits[0] > waits[1] > waits[2]
    assert breaches[0] > breaches[1] > breaches[2]
    assert breaches[0] > 0.3 and breaches[2] < 0.05


def _phone_in_hour(storms: tuple[Storm, ...]) -> Counter[str]:
    start = parse_timestamp("2026-11-10T06:00:00Z")  # 09:00 Moscow, a Tuesday
    config = SimConfig(seed=4, start_ms=start, days=2 / 24, tenants=("mrsk-center",), storms=storms)
    hour = (start + 3_600_000, start + 7_200_000)
    return Counter(
        e.region for e in _received(config, Channel.PHONE) if hour[0] <= e.occurred_at < hour[1]
    )


def test_outage_storm_multiplies_the_regions_phone_arrivals_for_the_hour() -> None:
    storm = Storm("voronezh", parse_timestamp("2026-11-10T07:00:00Z"), factor=5.0)
    calm, stormy = _phone_in_hour(()), _phone_in_hour((storm,))
    assert 3.5 < stormy["voronezh"] / calm["voronezh"] < 6.5
    others = {r: n for r, n in stormy.items() if r != "voronezh"}
    assert others == {r: n for r, n in calm.items() if r != "voronezh"}


def test_storm_calls_are_mostly_outages_and_breach_the_phone_target() -> None:
    start = parse_timestamp("2026-11-10T00:00:00Z")  # 03:00 Moscow: thin night shift
    storm = Storm("tver", start + 600_000, factor=4.0)
    config = SimConfig(
        seed=4, start_ms=start, days=2 / 24, tenants=("mrsk-center",), storms=(storm,)
    )
    events = list(generate(config))
    marked = [e for e in events if e.type is EventType.RECEIVED and e.attributes.get("storm")]
    assert len(marked) > 20
    assert sum(e.kind.value == "outage" for e in marked) / len(marked) > 0.7
    late = [e for e in events if e.region == "tver" and e.type is EventType.ABANDONED]
    assert len(late) > 5  # callers give up: the night shift cannot absorb the wave


@pytest.mark.parametrize("start", ["2026-11-27T00:00:00Z", "2026-11-27T07:00:00Z"])
def test_demo_storm_two_minutes_in_breaches_within_five_minutes(start: str) -> None:
    """What `kontakt demo` relies on, at night (thin shift) and at the morning peak."""
    t0 = parse_timestamp(start)
    storm = Storm("voronezh", t0 + 120_000, factor=5.0)
    config = SimConfig(seed=7, start_ms=t0, days=5 / 1440, storms=(storm,))
    contacts: dict[str, list[ContactEvent]] = {}
    for e in generate(config):
        if e.region == "voronezh" and e.channel is Channel.PHONE:
            contacts.setdefault(e.contact_id, []).append(e)
    policy = load_policy("rao-ues-2007")
    breached = [
        o
        for events in contacts.values()
        for o in evaluate(build_state(events), policy, t0 + 300_000)
        if o.status is Status.BREACHED
    ]
    assert breached
