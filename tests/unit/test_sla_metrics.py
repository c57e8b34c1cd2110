"""Contact-centre metrics on a hand-counted set of contacts."""

from __future__ import annotations

import pytest

from schemas.events import Channel
from streams.sla.clock import evaluate
from streams.sla.metrics import check_group_by, compliance, queue_metrics, queue_thresholds
from streams.sla.policy import Policy
from streams.sla.state import build_state
from tests.fixtures.sla import MIN, S, at, ev

T0 = at("2026-01-12T10:00:00Z")


def _phone(cid: str, end: str | None, wait: int, region: str = "kursk", **attrs: str):  # type: ignore[no-untyped-def]
    events = [ev("queued", T0, contact=cid, region=region)]
    if end:
        events.append(ev(end, T0 + wait, contact=cid, region=region, attributes=attrs))
    return build_state(events)


STATES = [
    _phone("a1", "answered", 10 * S, talk_seconds="100", hold_seconds="20"),
    _phone("a2", "answered", 40 * S),
    _phone("a3", "answered", 70 * S, talk_seconds="200", acw_seconds="30"),
    _phone("s1", "abandoned", 3 * S),  # short abandon
    _phone("l1", "abandoned", 60 * S),
    _phone("w1", None, 0),  # still waiting
    _phone("x1", "closed", 30 * S),  # closed unanswered: neither offered nor waiting
    _phone("t1", "answered", 5 * S, region="tver"),
    build_state([ev("received", T0, contact="e1", channel="email")]),
]
NOW = T0 + 2 * MIN


def test_queue_metrics_by_channel(rao: Policy) -> None:
    [row] = queue_metrics(STATES, NOW, thresholds=queue_thresholds(rao), short_abandon_ms=5 * S)
    assert row["channel"] == "phone"
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandons"],
            row["waiting"]) == (6, 4, 2, 1, 1)
    assert row["answered_within"] == 3  # 10 s, 40 s, 5 s
    assert row["service_level"] == pytest.approx(3 / 5)
    assert row["asa_seconds"] == pytest.approx((10 + 40 + 70 + 5) / 4)
    assert row["abandon_rate"] == pytest.approx(1 / 5)
    assert row["longest_wait_seconds"] == 120
    assert row["aht_seconds"] == pytest.approx((120 + 230) / 2)


def test_short_abandon_limit_is_a_setting(rao: Policy) -> None:
    [row] = queue_metrics(STATES, NOW, thresholds=queue_thresholds(rao), short_abandon_ms=0)
    assert row["short_abandons"] == 0
    assert row["service_level"] == pytest.approx(3 / 6)


def test_grouping_by_region(rao: Policy) -> None:
    rows = queue_metrics(STATES, NOW, thresholds=queue_thresholds(rao), group_by=("region",))
    assert [(r["region"], r["offered"]) for r in rows] == [("kursk", 5), ("tver", 1)]
    with pytest.raises(ValueError, match="colour"):
        check_group_by(["colour"])


def test_thresholds_come_from_the_policy(rao: Policy, minenergo: Policy) -> None:
    assert queue_thresholds(rao) == {Channel.PHONE: 40 * S}
    assert queue_thresholds(minenergo) == {Channel.IN_PERSON: 30 * MIN}


def test_compliance(rao: Policy) -> None:
    outcomes = [o for s in STATES for o in evaluate(s, rao, NOW)]
    rows = {r["milestone"]: r for r in compliance(outcomes)}
    phone = rows["phone.answer"]
    assert (phone["met"], phone["breached"], phone["cancelled"], phone["total"]) == (3, 3, 2, 8)
    assert phone["met_share"] == pytest.approx(0.5)
    assert rows["email.dispatch"]["open"] == 1 and rows["email.dispatch"]["met_share"] is None
