"""Agent pools, opening-hours schedules and real-time pacing of the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from random import Random

import orjson
import pytest

from schemas.events import Channel, ContactEvent, EventType
from schemas.units import HOUR_MS
from services.alerts import erlang
from services.simulator.calendar import RegionClock, Schedule, is_working_day
from services.simulator.queueing import AgentPool, agents_for
from services.simulator.sinks import ApiSink, Pacer, pump


def test_single_agent_serves_first_come_first_served() -> None:
    pool = AgentPool("q", [None])
    starts = [pool.offer(0, 10).start, pool.offer(0, 10).start, pool.offer(5, 10).start]
    assert starts == [0, 10, 20]


def test_impatient_caller_abandons_and_costs_no_agent_time() -> None:
    pool = AgentPool("q", [None])
    pool.offer(0, 100)
    gone = pool.offer(10, 50, patience_ms=30)
    assert gone.agent is None and gone.start == 40
    assert pool.offer(20, 10, patience_ms=1000).start == 100  # the abandon left no trace


def test_the_earliest_free_agent_takes_the_job() -> None:
    pool = AgentPool("q", [None, None])
    assert pool.offer(0, 100).agent == 0
    assert pool.offer(0, 30).agent == 1
    job = pool.offer(10, 5)
    assert (job.agent, job.start) == (1, 30)


def test_an_off_duty_agent_starts_when_the_schedule_opens() -> None:
    shift = Schedule([(100, 200), (1000, 1100)])
    pool = AgentPool("q", [shift])
    assert pool.offer(50, 10).start == 100
    assert pool.offer(195, 10).start == 195  # started before closing, finishes after
    assert pool.offer(300, 10).start == 1000


def test_schedule_advance_counts_only_open_time() -> None:
    schedule = Schedule([(0, 10), (100, 110), (200, 210)])
    assert schedule.advance(5, 3) == 8
    assert schedule.advance(5, 10) == 105
    assert schedule.advance(50, 15) == 205
    assert schedule.advance(5, 100) == 210 + 75  # past the last interval: plain time


def test_office_schedule_follows_local_hours_and_the_production_calendar() -> None:
    start = 1_767_214_800_000  # 2025-12-31T21:00Z = 2026-01-01 00:00 Moscow
    clock = RegionClock("Asia/Yekaterinburg", start, start + 20 * 24 * HOUR_MS, margin_days=0)
    hours = clock.schedule(8, 17, working_days_only=True)
    first_open = hours.next_open(start)
    assert first_open == 1_768_186_800_000  # Mon 2026-01-12 08:00 +05:00 = 03:00Z
    assert clock.days[0] == date(2025, 12, 31)
    assert not is_working_day(date(2026, 1, 5)) and is_working_day(date(2026, 1, 12))
    assert is_working_day(date(2025, 11, 1))  # a Saturday made a working day


def test_erlang_default_staffing_grows_with_load() -> None:
    assert agents_for(10, 200, 40) < agents_for(100, 200, 40) < agents_for(400, 200, 40)
    assert agents_for(0, 200, 40) == 1


@dataclass
class FakeTime:
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@dataclass
class ListSink:
    batches: list[list[ContactEvent]] = field(default_factory=list)

    def write(self, events: list[ContactEvent]) -> None:
        self.batches.append(list(events))

    def close(self) -> None: ...


def _event(n: int, at: int) -> ContactEvent:
    return ContactEvent(f"e{n}", f"c{n}", "t", "tver", Channel.PHONE, EventType.RECEIVED, at)


def test_realtime_pump_waits_for_each_instant_at_the_given_speed() -> None:
    fake = FakeTime()
    pacer = Pacer(sim_start_ms=1_000_000, speed=10.0, clock=fake.clock, sleep=fake.sleep)
    events = [
        _event(1, 1_000_000),
        _event(2, 1_000_000),
        _event(3, 1_020_000),
        _event(4, 1_050_000),
    ]
    sink = ListSink()
    assert pump(events, sink, batch_size=100, pacer=pacer) == 4
    assert fake.slept == [2.0, 3.0]  # 20 s and 30 s of simulated time at speed 10
    assert [[e.event_id for e in b] for b in sink.batches] == [["e1", "e2"], ["e3"], ["e4"]]


def test_history_pump_batches_without_sleeping() -> None:
    sink = ListSink()
    events = [_event(n, n * 3_600_000) for n in range(25)]
    assert pump(events, sink, batch_size=10) == 25
    assert [len(b) for b in sink.batches] == [10, 10, 5]


@dataclass
class FakeClient:
    sent: list[list[bytes]] = field(default_factory=list)
    closed: int = 0

    def send_ndjson(self, lines: list[bytes]) -> dict[str, object]:
        self.sent.append(lines)
        return {"accepted": len(lines), "duplicates": 0, "rejected": []}

    def close(self) -> None:
        self.closed += 1


def test_api_sink_sends_each_tenants_events_with_that_tenants_key() -> None:
    grid, shared = FakeClient(), FakeClient()
    sink = ApiSink({"mrsk-center": grid}, default=shared)
    events = [_event(1, 0), _event(2, 1)]
    events.append(
        ContactEvent("e3", "c3", "mrsk-center", "tver", Channel.WEB, EventType.RECEIVED, 2)
    )
    sink.write(events)
    sink.close()
    assert [[orjson.loads(x)["event_id"] for x in b] for b in grid.sent] == [["e3"]]
    assert [[orjson.loads(x)["event_id"] for x in b] for b in shared.sent] == [["e1", "e2"]]
    assert (grid.closed, shared.closed) == (1, 1)


def test_api_sink_without_a_key_for_the_tenant_refuses() -> None:
    sink = ApiSink({"mrsk-center": FakeClient()})
    with pytest.raises(ValueError, match="no API key for tenant 't'"):
        sink.write([_event(1, 0)])


def test_pool_matches_erlang_c_on_a_steady_poisson_load() -> None:
    """M/M/N without abandons: the simulated service level and ASA agree with Erlang C."""
    rng = Random(3)
    agents, per_hour, handle_s, target_s = 6, 72.0, 200.0, 20.0
    pool = AgentPool("q", [None] * agents)
    t = 0.0
    waits = []
    for _ in range(100_000):
        t += rng.expovariate(per_hour / 3600.0) * 1000
        handle = round(rng.expovariate(1.0 / handle_s) * 1000)
        job = pool.offer(round(t), handle)
        waits.append((job.start - round(t)) / 1000)
    traffic = per_hour * handle_s / 3600
    expected_sl = erlang.service_level(traffic, agents, handle_s, target_s)
    simulated_sl = sum(w <= target_s for w in waits) / len(waits)
    assert abs(simulated_sl - expected_sl) < 0.015, (simulated_sl, expected_sl)
    expected_asa = erlang.asa_s(traffic, agents, handle_s)
    assert abs(sum(waits) / len(waits) - expected_asa) < 0.1 * expected_asa
