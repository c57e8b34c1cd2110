"""The contact fold: order, duplicates, anomalies and the compact table form."""

from __future__ import annotations

import itertools
import json

import pytest

from schemas.events import event_to_json
from streams.sla.state import build_state, fold, state_from_dict, state_to_dict
from tests.fixtures.sla import S, at, ev

T0 = at("2026-01-12T10:00:00Z")


def _fold_all(events):  # type: ignore[no-untyped-def]
    state = None
    for e in events:
        state = fold(state, e)
    return state


def test_fold_is_order_independent_and_matches_build_state() -> None:
    events = [ev("queued", T0, office="kursk-1"), ev("paused", T0 + S),
              ev("resumed", T0 + 2 * S), ev("answered", T0 + 3 * S, kind="complaint")]
    expected = build_state(events)
    for perm in itertools.permutations(events):
        assert _fold_all(perm) == expected
    assert expected.kind.value == "complaint"
    assert expected.office == "kursk-1"


def test_duplicate_event_id_returns_the_same_state() -> None:
    state = _fold_all([ev("queued", T0), ev("answered", T0 + S)])
    assert fold(state, ev("answered", T0 + S)) is state
    late_copy = ev("answered", T0 + 9 * S, eid=state.events[1].event_id)
    assert fold(state, late_copy) is state


def test_another_contacts_event_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="is for c2"):
        fold(build_state([ev("queued", T0)]), ev("queued", T0, contact="c2"))


@pytest.mark.parametrize(
    ("events", "fragment"),
    [
        ([ev("answered", T0)], "unknown contact"),
        ([ev("queued", T0), ev("resumed", T0 + S)], "resumed"),
        ([ev("queued", T0), ev("paused", T0 + S), ev("paused", T0 + 2 * S)], "while paused"),
        ([ev("queued", T0), ev("answered", T0 + S), ev("abandoned", T0 + 2 * S)],
         "abandoned"),
        ([ev("received", T0), ev("callback_completed", T0 + S)], "callback_completed"),
        ([ev("received", T0), ev("closed", T0 + S), ev("responded", T0 + 2 * S)],
         "after closed"),
        ([ev("queued", T0), ev("answered", T0 + S, channel="email")], "differ"),
    ],
)
def test_anomalies_are_reported_not_raised(events, fragment: str) -> None:  # type: ignore[no-untyped-def]
    state = build_state(events)
    assert any(fragment in a for a in state.anomalies), state.anomalies


def test_reopened_contact_accepts_events_again() -> None:
    state = build_state([ev("received", T0), ev("closed", T0 + S), ev("reopened", T0 + 2 * S),
                         ev("responded", T0 + 3 * S)])
    assert state.anomalies == ()


def test_state_dict_round_trip_is_exact_and_json_safe() -> None:
    events = [ev("queued", T0, office="o1", attributes={"talk_seconds": "12"}),
              ev("answered", T0 + S, category="veteran", kind="complaint"),
              ev("closed", T0 + 2 * S, region="tver")]
    state = build_state(events)
    data = json.loads(json.dumps(state_to_dict(state)))
    assert state_from_dict(data) == state
    assert data["events"][0][:3] == [events[0].event_id, "queued", T0]


def test_compact_form_is_smaller_than_the_events() -> None:
    events = [ev("queued", T0), ev("answered", T0 + S), ev("closed", T0 + 2 * S)]
    canonical = len(json.dumps([event_to_json(e) for e in events]))
    assert len(json.dumps(state_to_dict(build_state(events)))) < canonical / 2


def test_unknown_state_format_is_refused() -> None:
    data = state_to_dict(build_state([ev("queued", T0)]))
    with pytest.raises(ValueError, match="v2"):
        state_from_dict({**data, "v": 2})
