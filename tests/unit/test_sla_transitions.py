"""Alert transitions between two evaluations, with deterministic ids."""

from __future__ import annotations

from streams.sla.clock import evaluate
from streams.sla.policy import Policy
from streams.sla.state import build_state
from streams.sla.transitions import AlertKind, transitions
from tests.fixtures.sla import S, at, ev

T0 = at("2026-01-12T10:00:00Z")


def _ids(policy: Policy, events, before: int, after: int) -> list[str]:  # type: ignore[no-untyped-def]
    state = build_state(events)
    return [t.alert_id for t in transitions(evaluate(state, policy, before),
                                            evaluate(state, policy, after))]


def test_warning_then_breach(rao: Policy) -> None:
    events = [ev("queued", T0)]
    assert _ids(rao, events, T0, T0 + 21 * S) == ["c1:phone.answer:warning:0.5"]
    assert _ids(rao, events, T0 + 21 * S, T0 + 41 * S) == [
        "c1:phone.answer:warning:0.8", "c1:phone.answer:warning:0.9",
        "c1:phone.answer:breached:1"]
    assert _ids(rao, events, T0 + 41 * S, T0 + 50 * S) == []


def test_new_clock_that_is_already_met(rao: Policy) -> None:
    events = [ev("queued", T0), ev("answered", T0 + 10 * S)]
    found = transitions([], evaluate(build_state(events), rao, T0 + 10 * S))
    assert [(t.kind, t.threshold) for t in found] == [(AlertKind.MET, None)]
    assert found[0].alert_id == "c1:phone.answer:met:-"


def test_cancelled_and_nothing_for_unchanged(rao: Policy) -> None:
    events = [ev("queued", T0), ev("abandoned", T0 + 5 * S)]
    state = build_state(events)
    assert _ids(rao, events, T0 + S, T0 + 5 * S) == ["c1:phone.answer:cancelled:-"]
    same = evaluate(state, rao, T0 + 9 * S)
    assert transitions(same, same) == []
