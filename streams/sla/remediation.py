"""Complaint remediation: root causes, corrective actions and their deadlines (pure).

The standard asks that complaints are not only answered but that "the deficiencies they
reveal" are eliminated. A complaint contact carries its root cause as the event attribute
``root_cause`` (from a tenant-editable taxonomy, :func:`load_remediation`); a corrective action
is a series of steps -- planned (root cause, region, owner, due date), completed, verified --
recorded as RemediationRecorded records (schemas/avro). This module folds steps into actions
(any order, duplicates allowed), checks their deadlines, and answers the three questions the
reports ask: root causes by region and month, open actions past due, and complaints whose
cause came back after the action against it was completed.

A recurrence is a complaint of the same tenant, region and root cause received after an
action for that cause in that region was completed: the fault was supposedly removed.
"""

from __future__ import annotations

import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.events import ContactEvent, Kind
from streams.sla.policy import PolicyError, parse_duration
from streams.sla.regions import timezone_for

DEFAULT_FILE = Path(__file__).with_name("remediation.toml")


class Step(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    VERIFIED = "verified"


@dataclass(frozen=True, slots=True)
class Remediation:
    """The taxonomy (id -> label) and the deadlines (ms) of one tenant."""

    name: str
    root_causes: Mapping[str, str]
    plan_ms: int
    complete_ms: int
    verify_ms: int


def remediation_from_mapping(doc: Mapping[str, Any], source: str) -> Remediation:
    causes: dict[str, str] = {}
    for i, raw in enumerate(doc.get("root_causes") or []):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise PolicyError(f"{source}: root_causes[{i}] needs an id")
        if raw["id"] in causes:
            raise PolicyError(f"{source}: root cause {raw['id']!r} is listed twice")
        causes[raw["id"]] = str(raw.get("label") or raw["id"])
    if not causes:
        raise PolicyError(f"{source}: list at least one [[root_causes]] entry")
    deadlines = doc.get("deadlines") or {}
    return Remediation(
        name=str(doc.get("name") or source), root_causes=causes,
        plan_ms=parse_duration(deadlines.get("plan", "5d"), f"{source}: deadlines.plan"),
        complete_ms=parse_duration(deadlines.get("complete", "30d"),
                                   f"{source}: deadlines.complete"),
        verify_ms=parse_duration(deadlines.get("verify", "14d"), f"{source}: deadlines.verify"),
    )  # fmt: skip


def load_remediation(data_dir: Path | None = None) -> Remediation:
    """The tenant's <data_dir>/remediation.toml when it exists, else the shipped default."""
    path = data_dir / "remediation.toml" if data_dir is not None else None
    if path is None or not path.is_file():
        path = DEFAULT_FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    return remediation_from_mapping(doc, str(path))


@dataclass(frozen=True, slots=True)
class RemediationStep:
    remediation_id: str
    tenant: str
    action_id: str
    step: Step
    at: int
    root_cause: str = ""
    region: str = ""
    owner: str | None = None
    due_at: int | None = None
    complaint_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    tenant: str
    action_id: str
    root_cause: str
    region: str
    owner: str | None
    planned_at: int | None
    due_at: int | None
    completed_at: int | None
    verified_at: int | None
    complaint_ids: tuple[str, ...]


def fold_actions(steps: Iterable[RemediationStep], rules: Remediation) -> list[Action]:
    """Steps (any order, redelivered copies) -> one Action per (tenant, action_id).

    Cause, region, owner and due date come from the latest planned step (a re-plan wins); a
    plan without a due date is due ``deadlines.complete`` after it. Completed and verified are
    the first such steps. Sorted by (tenant, action_id)."""
    unique = {s.remediation_id: s for s in steps}
    by_action: dict[tuple[str, str], list[RemediationStep]] = defaultdict(list)
    for s in unique.values():
        by_action[(s.tenant, s.action_id)].append(s)
    out = []
    for (tenant, action_id), group in sorted(by_action.items()):
        group.sort(key=lambda s: (s.at, s.remediation_id))
        plans = [s for s in group if s.step is Step.PLANNED]
        plan = plans[-1] if plans else None
        first = {st: next((s.at for s in group if s.step is st), None) for st in Step}
        due = None
        if plan is not None:
            due = plan.due_at if plan.due_at is not None else plan.at + rules.complete_ms
        complaints = sorted({c for s in group for c in s.complaint_ids})
        out.append(Action(
            tenant=tenant, action_id=action_id, root_cause=plan.root_cause if plan else "",
            region=plan.region if plan else "", owner=plan.owner if plan else None,
            planned_at=first[Step.PLANNED], due_at=due, completed_at=first[Step.COMPLETED],
            verified_at=first[Step.VERIFIED], complaint_ids=tuple(complaints),
        ))  # fmt: skip
    return out


def overdue(actions: Iterable[Action], now: int) -> list[Action]:
    """Planned, not completed, and past the due date at ``now``; most overdue first."""
    late = [a for a in actions
            if a.due_at is not None and a.completed_at is None and a.due_at < now]  # fmt: skip
    return sorted(late, key=lambda a: (a.due_at or 0, a.tenant, a.action_id))


def deadline_status(
    action: Action, rules: Remediation, now: int, first_complaint_at: int | None = None
) -> dict[str, str]:
    """met / breached / open / not_started of the three deadlines of one action at ``now``:
    plan (first complaint -> planned, ``deadlines.plan``), complete (planned -> completed, by
    the due date) and verify (completed -> verified, ``deadlines.verify``)."""

    def judge(start: int | None, stop: int | None, target: int) -> str:
        if start is None:
            return "not_started"
        if stop is not None:
            return "met" if stop - start <= target else "breached"
        return "breached" if now - start > target else "open"

    complete_target = (action.due_at - action.planned_at
                       if action.due_at is not None and action.planned_at is not None
                       else rules.complete_ms)  # fmt: skip
    return {
        "plan": judge(first_complaint_at, action.planned_at, rules.plan_ms),
        "complete": judge(action.planned_at, action.completed_at, complete_target),
        "verify": judge(action.completed_at, action.verified_at, rules.verify_ms),
    }


@dataclass(frozen=True, slots=True)
class Complaint:
    tenant: str
    contact_id: str
    region: str
    received_at: int
    root_cause: str | None
    action_id: str | None


def complaint_of(events: Iterable[ContactEvent]) -> Complaint | None:
    """A contact's complaint view (None if it never was a complaint): the latest non-empty
    ``root_cause`` / ``action_id`` attributes win, as a re-classification should."""
    ordered = sorted({e.event_id: e for e in events}.values(),
                     key=lambda e: (e.occurred_at, e.event_id))  # fmt: skip
    if not ordered or all(e.kind is not Kind.COMPLAINT for e in ordered):
        return None
    cause = action = None
    for e in ordered:
        cause = e.attributes.get("root_cause") or cause
        action = e.attributes.get("action_id") or action
    first = ordered[0]
    return Complaint(first.tenant, first.contact_id, first.region, first.occurred_at, cause,
                     action)


def local_month(epoch_ms: int, region: str) -> str:
    """YYYY-MM of the instant in the region's time zone (reports are by local month)."""
    zone = ZoneInfo(timezone_for(region))
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(zone).strftime("%Y-%m")


def root_causes_by_region_month(complaints: Iterable[Complaint]) -> list[tuple[str, str, str, int]]:
    """(region, month, root_cause, complaints); complaints without a cause as 'unclassified'."""
    counts = Counter(
        (c.region, local_month(c.received_at, c.region), c.root_cause or "unclassified")
        for c in complaints
    )
    return sorted((*key, n) for key, n in counts.items())


def recurrences(
    complaints: Iterable[Complaint], actions: Iterable[Action]
) -> list[tuple[Complaint, Action]]:
    """Complaints whose cause recurred: same tenant, region and cause, received after an
    action against it was completed (one pair per such action)."""
    done: dict[tuple[str, str, str], list[Action]] = defaultdict(list)
    for a in actions:
        if a.completed_at is not None and a.root_cause:
            done[(a.tenant, a.region, a.root_cause)].append(a)
    pairs = [
        (c, a)
        for c in complaints
        if c.root_cause
        for a in done.get((c.tenant, c.region, c.root_cause), ())
        if c.received_at > (a.completed_at or 0)
    ]
    return sorted(pairs, key=lambda p: (p[0].tenant, p[0].received_at, p[0].contact_id,
                                        p[1].action_id))  # fmt: skip
