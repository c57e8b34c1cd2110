"""Hypothesis properties of the pure SLA core (arrival order, pauses, monotonicity, timers)."""

from __future__ import annotations

import dataclasses
import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import Channel, ContactEvent, EventType, Kind
from streams.emissions import diff
from streams.sla.clock import Outcome, Status, evaluate, evaluate_next, next_change
from streams.sla.policy import Policy, load_policy, policy_from_mapping
from streams.sla.state import build_state, fold, state_from_dict, state_to_dict
from tests.fixtures.sla import MIN, D, H, S, at, ev

T0 = at("2025-10-31T13:00:00Z")  # Friday before a transferred working Saturday

WORKING = policy_from_mapping(tomllib.loads("""
name = "working"
[[milestones]]
id = "reply"
start = "received"
stop = ["responded", "registered"]
cancel = ["closed"]
pausable = true
target = "16h"
calendar = "ru-workdays-9-18"
warnings = [0.5, 0.8]
[[milestones]]
id = "queue"
start = "queued"
stop = ["answered"]
abandon_rule = true
pausable = true
target = "40s"
warnings = [0.25, 0.75]
"""), "working")
POLICIES = [load_policy("rao-ues-2007"), load_policy("minenergo-186"), WORKING]

offsets = st.one_of(
    st.integers(0, 120).map(lambda n: n * S),
    st.integers(0, 60).map(lambda n: n * H),
    st.integers(0, 45).map(lambda n: n * D),
    st.integers(0, 3 * D),
)
event_types = st.sampled_from(list(EventType))
opening = st.sampled_from([EventType.RECEIVED, EventType.QUEUED, EventType.CALLBACK_REQUESTED])


@st.composite
def contacts(draw: st.DrawFn) -> list[ContactEvent]:
    channel = draw(st.sampled_from([Channel.PHONE, Channel.EMAIL, Channel.WEB,
                                    Channel.IN_PERSON, Channel.POST]))
    kind = draw(st.sampled_from([Kind.INQUIRY, Kind.COMPLAINT]))
    region = draw(st.sampled_from(["kursk", "novosibirsk", "samara"]))
    steps = [(draw(opening), 0)] + draw(st.lists(st.tuples(event_types, offsets), max_size=7))
    return [ev(t, T0 + off, channel=channel, kind=kind, region=region, eid=f"e{i}")
            for i, (t, off) in enumerate(steps)]


policies = st.sampled_from(POLICIES)
nows = offsets.map(lambda off: T0 + off)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _view(outcomes: list[Outcome]) -> list[tuple[object, ...]]:
    return [(o.milestone, o.status, o.warnings_crossed, o.stopped_at) for o in outcomes]


@FAST
@given(contacts(), policies, nows, st.randoms(use_true_random=False), st.data())
def test_permuting_or_duplicating_never_changes_the_output(
    events, policy: Policy, now: int, rnd, data  # type: ignore[no-untyped-def]
) -> None:
    expected = evaluate(build_state(events), policy, now)
    dups = data.draw(st.lists(st.sampled_from(events), max_size=4))
    shuffled = events + dups
    rnd.shuffle(shuffled)
    state = None
    for e in shuffled:
        state = fold(state, e)
    assert state is not None
    assert evaluate(state, policy, now) == expected
    assert state == build_state(events)
    assert next_change(state, policy, now) == next_change(build_state(events), policy, now)


@FAST
@given(contacts(), policies, nows, offsets, offsets)
def test_a_pause_never_makes_elapsed_longer(
    events, policy: Policy, now: int, a: int, b: int  # type: ignore[no-untyped-def]
) -> None:
    plain = [e for e in events if e.type not in (EventType.PAUSED, EventType.RESUMED)]
    lo, hi = sorted((a, b))
    paused = plain + [dataclasses.replace(plain[0], event_id="p", type=EventType.PAUSED,
                                          occurred_at=T0 + lo),
                      dataclasses.replace(plain[0], event_id="r", type=EventType.RESUMED,
                                          occurred_at=T0 + hi)]
    before = {o.milestone: o for o in evaluate(build_state(plain), policy, now)}
    for o in evaluate(build_state(paused), policy, now):
        assert o.elapsed_ms <= before[o.milestone].elapsed_ms
        if before[o.milestone].status is Status.MET:
            assert o.status is Status.MET


@FAST
@given(contacts(), policies, nows, offsets)
def test_moving_the_stop_later_never_turns_a_breach_into_met(
    events, policy: Policy, now: int, delay: int  # type: ignore[no-untyped-def]
) -> None:
    state = build_state(events)
    for before in evaluate(state, policy, now):
        m = next(m for m in policy.milestones if m.id == before.milestone)
        if before.ended_by is None or EventType(before.ended_by) not in m.stop_all:
            continue
        moved = [dataclasses.replace(e, occurred_at=e.occurred_at + delay)
                 if e.type.value == before.ended_by and e.occurred_at == before.stopped_at
                 else e for e in events]
        after = next(o for o in evaluate(build_state(moved), policy, now + delay)
                     if o.milestone == before.milestone)
        assert after.elapsed_ms >= before.elapsed_ms
        if before.status is Status.BREACHED:
            assert after.status is not Status.MET


@FAST
@given(contacts(), policies, nows)
def test_next_change_is_after_now_and_nothing_changes_before_it(
    events, policy: Policy, now: int  # type: ignore[no-untyped-def]
) -> None:
    state = build_state(events)
    current = _view(evaluate(state, policy, now))
    nxt = next_change(state, policy, now)
    pending = any(e.occurred_at > now for e in events)
    if nxt is None:
        assert _view(evaluate(state, policy, now + 400 * D)) == current
        return
    assert nxt > now
    assert _view(evaluate(state, policy, nxt - 1)) == current
    if not pending:
        assert _view(evaluate(state, policy, nxt)) != current


@FAST
@given(contacts(), policies, nows, offsets)
def test_evaluate_next_is_evaluate_and_next_change_in_one_pass(
    events, policy: Policy, now: int, behind: int  # type: ignore[no-untyped-def]
) -> None:
    state = build_state(events)
    for events_until in (None, now + behind, now - behind):
        assert evaluate_next(state, policy, now, events_until) == (
            evaluate(state, policy, now, events_until),
            next_change(state, policy, now, events_until))


@FAST
@given(contacts(), policies, nows)
def test_status_agrees_with_due_instant(events, policy: Policy, now: int) -> None:  # type: ignore[no-untyped-def]
    for o in evaluate(build_state(events), policy, now):
        assert o.started_at <= now
        if o.due_at is None:
            assert o.paused or o.stopped_at is not None
            continue
        if o.stopped_at is None:
            assert (o.status is Status.BREACHED) == (now > o.due_at)
        elif o.status in (Status.MET, Status.BREACHED):
            assert (o.status is Status.MET) == (o.stopped_at <= o.due_at)
        assert (o.elapsed_ms > o.target_ms) == (o.status is Status.BREACHED)


@FAST
@given(contacts(), policies, nows)
def test_walking_the_timers_raises_each_alert_once(events, policy: Policy, now: int) -> None:  # type: ignore[no-untyped-def]
    """The worker's alert rule (streams.emissions.diff) driven by the core's timers."""
    state = build_state(events)
    emitted = diff(evaluate(state, policy, now), {}, now)
    seen = [a["alert_id"] for a in emitted.alerts]
    signatures, at_ = emitted.signatures, now
    for _ in range(40):
        nxt = next_change(state, policy, at_)
        if nxt is None:
            break
        emitted = diff(evaluate(state, policy, nxt), signatures, nxt)
        seen += [a["alert_id"] for a in emitted.alerts]
        signatures, at_ = emitted.signatures, nxt
    assert len(seen) == len(set(seen))
    final = diff(evaluate(state, policy, at_), {}, at_)
    assert {a["alert_id"] for a in final.alerts} <= set(seen)


@FAST
@given(contacts())
def test_state_dict_round_trip(events) -> None:  # type: ignore[no-untyped-def]
    state = build_state(events)
    assert state_from_dict(state_to_dict(state)) == state


def test_offsets_cover_the_scales() -> None:
    assert MIN < H < D


@FAST
@given(contacts(), policies, nows)
def test_due_instant_is_where_elapsed_reaches_the_target(events, policy: Policy, now: int) -> None:  # type: ignore[no-untyped-def]
    state = build_state(events)
    for o in evaluate(state, policy, now):
        if o.due_at is None or (o.stopped_at is not None and o.stopped_at <= o.due_at):
            continue
        if any(o.due_at < e.occurred_at <= now and e.type in (EventType.PAUSED,
                                                              EventType.RESUMED)
               for e in events) or any(e.occurred_at > now for e in events):
            continue  # pauses known only later may move the due instant
        at_due = {x.milestone: x for x in evaluate(state, policy, o.due_at)}[o.milestone]
        after = {x.milestone: x for x in evaluate(state, policy, o.due_at + 1)}[o.milestone]
        assert at_due.elapsed_ms == o.target_ms and at_due.status is not Status.BREACHED
        assert after.elapsed_ms == o.target_ms + 1 and after.status is Status.BREACHED
