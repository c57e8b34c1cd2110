"""Complaint remediation in the pure core: the taxonomy file, folding action steps in any
order, overdue actions, deadline status, root causes by region/month and recurrences."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from streams.sla.policy import PolicyError
from streams.sla.remediation import (
    Action,
    Complaint,
    RemediationStep,
    Step,
    complaint_of,
    deadline_status,
    fold_actions,
    load_remediation,
    overdue,
    recurrences,
    root_causes_by_region_month,
)
from tests.fixtures.sla import D, H, at, ev

RULES = load_remediation(None)
T0 = at("2026-10-05T09:00:00Z")


def step(rid: str, action: str, kind: Step, at_: int, **kw: object) -> RemediationStep:
    return RemediationStep(rid, "t", action, kind, at_, **kw)  # type: ignore[arg-type]


def test_shipped_taxonomy_and_deadlines() -> None:
    assert {"meter", "outage", "billing", "connection_delay", "staff_conduct"} <= set(
        RULES.root_causes)
    assert (RULES.plan_ms, RULES.complete_ms, RULES.verify_ms) == (5 * D, 30 * D, 14 * D)


def test_tenant_file_replaces_the_default(tmp_path: Path) -> None:
    (tmp_path / "remediation.toml").write_text(
        '[deadlines]\ncomplete = "10d"\n[[root_causes]]\nid = "tree_fall"\nlabel = "Trees"\n')
    rules = load_remediation(tmp_path)
    assert dict(rules.root_causes) == {"tree_fall": "Trees"} and rules.complete_ms == 10 * D
    (tmp_path / "remediation.toml").write_text("[[root_causes]]\nid = 'a'\n[[root_causes]]\n"
                                               "id = 'a'\n")
    with pytest.raises(PolicyError, match="twice"):
        load_remediation(tmp_path)


STEPS = [
    step("p1", "a1", Step.PLANNED, T0, root_cause="meter", region="tver", owner="ivanov",
         complaint_ids=("c1",)),
    step("p2", "a1", Step.PLANNED, T0 + D, root_cause="meter", region="tver", owner="petrov",
         due_at=T0 + 10 * D, complaint_ids=("c2",)),
    step("d1", "a1", Step.COMPLETED, T0 + 8 * D),
    step("v1", "a1", Step.VERIFIED, T0 + 30 * D),
    step("p3", "a2", Step.PLANNED, T0, root_cause="outage", region="kursk"),
]  # fmt: skip


def test_fold_is_order_independent_and_replan_wins() -> None:
    want = fold_actions(STEPS, RULES)
    for seed in range(20):
        shuffled = STEPS + STEPS[:2]
        random.Random(seed).shuffle(shuffled)
        assert fold_actions(shuffled, RULES) == want
    a1, a2 = want
    assert (a1.owner, a1.due_at, a1.planned_at, a1.completed_at) == (
        "petrov", T0 + 10 * D, T0, T0 + 8 * D)
    assert a1.complaint_ids == ("c1", "c2")
    assert a2.due_at == T0 + RULES.complete_ms  # no due date given: the preset's


@pytest.mark.parametrize(("now", "late"), [
    (T0 + 29 * D, []), (T0 + 30 * D, []), (T0 + 30 * D + 1, ["a2"]),
])  # fmt: skip
def test_overdue(now: int, late: list[str]) -> None:
    assert [a.action_id for a in overdue(fold_actions(STEPS, RULES), now)] == late


def test_deadline_status() -> None:
    a1, a2 = fold_actions(STEPS, RULES)
    # planned T0, due T0+10d, completed at 8 d: met; verified 22 d after completion: breached
    assert deadline_status(a1, RULES, T0 + 40 * D) == {
        "plan": "not_started", "complete": "met", "verify": "breached"}
    assert deadline_status(a2, RULES, T0 + D) == {
        "plan": "not_started", "complete": "open", "verify": "not_started"}
    assert deadline_status(a2, RULES, T0 + 31 * D)["complete"] == "breached"
    # plan: 5 days from the first complaint; planned at T0
    assert deadline_status(a1, RULES, T0, first_complaint_at=T0 - 5 * D)["plan"] == "met"
    assert deadline_status(a1, RULES, T0, first_complaint_at=T0 - 5 * D - 1)["plan"] == "breached"


def _complaint(cid: str, region: str, when: int, cause: str | None) -> Complaint | None:
    attrs = {"root_cause": cause} if cause else {}
    return complaint_of([ev("received", when, contact=cid, kind="complaint", region=region),
                         ev("classified", when + H, contact=cid, kind="complaint",
                            region=region, attributes=attrs)])  # fmt: skip


def test_complaint_of_reads_the_latest_cause() -> None:
    c = _complaint("c1", "tver", T0, "meter")
    assert c is not None and (c.root_cause, c.received_at) == ("meter", T0)
    assert complaint_of([ev("received", T0)]) is None  # an inquiry is no complaint


def test_root_causes_by_local_month() -> None:
    complaints = [_complaint("c1", "tver", at("2026-09-30T21:30:00Z"), "meter"),  # Oct in Moscow
                  _complaint("c2", "tver", at("2026-10-20T10:00:00Z"), "meter"),
                  _complaint("c3", "kursk", at("2026-10-20T10:00:00Z"), None)]  # fmt: skip
    assert root_causes_by_region_month([c for c in complaints if c]) == [
        ("kursk", "2026-10", "unclassified", 1), ("tver", "2026-10", "meter", 2)]


def test_recurrence_needs_same_cause_region_and_a_later_complaint() -> None:
    actions = fold_actions(STEPS, RULES)  # a1 meter/tver completed at T0 + 8 d
    complaints = [c for c in [
        _complaint("before", "tver", T0 + 7 * D, "meter"),
        _complaint("after", "tver", T0 + 9 * D, "meter"),
        _complaint("other-region", "kursk", T0 + 9 * D, "meter"),
        _complaint("other-cause", "tver", T0 + 9 * D, "billing"),
    ] if c]  # fmt: skip
    pairs = recurrences([Complaint("t", c.contact_id, c.region, c.received_at, c.root_cause,
                                   None) for c in complaints], actions)  # fmt: skip
    assert [(c.contact_id, a.action_id) for c, a in pairs] == [("after", "a1")]
    assert isinstance(pairs[0][1], Action)
