"""A deterministic history for the appeal and remediation reports: customers who come back
about one matter (by related_to, by the same topic within the window, and after it), every
channel, every customer category, complaints with root causes, corrective actions (done,
overdue, re-planned) -- and redelivered rows. Expected figures come from the pure core."""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind, parse_timestamp
from services.analytics.backfill import backfill
from services.analytics.scope import Scope
from services.appeals.linking import link_appeals
from services.ports import Warehouse
from services.sink.rows import TABLE_COLUMNS, event_rows, remediation_rows
from streams.sla.policy import load_policy
from streams.sla.remediation import RemediationStep, Step

TENANT, OTHER = "mrsk", "heat-b"
S, MIN, H, D = 1000, 60_000, 3_600_000, 86_400_000
T0 = parse_timestamp("2026-09-01T06:00:00Z")
NOW = parse_timestamp("2026-12-20T00:00:00Z")
WINDOW = 7 * D
REGIONS = ("tver", "kursk")
CAUSES = ("meter", "outage", "billing", "connection_delay", "staff_conduct")


@dataclass
class Seed:
    events: list[ContactEvent]
    steps: list[RemediationStep]


def _contact(rng: random.Random, tenant: str, cid: str, start: int, customer: str, topic: str,
             category: str, region: str, related: str | None) -> list[ContactEvent]:
    channel = rng.choice([Channel.PHONE, Channel.PHONE, Channel.EMAIL, Channel.IN_PERSON])
    complaint = rng.random() < 0.4
    office = f"{region}-center" if channel is Channel.IN_PERSON else None
    steps: list[tuple[EventType, int, dict[str, str]]] = [(EventType.RECEIVED, 0, {})]
    if channel is Channel.EMAIL:
        steps += [(EventType.REGISTERED, rng.randint(1, 30) * H, {}),
                  (EventType.RESPONDED, rng.randint(1, 6) * D, {})]
    else:
        queued = rng.randint(0, 20) * S
        wait = rng.randint(5, 60 * (30 if channel is Channel.IN_PERSON else 1)) * S
        end = EventType.ABANDONED if rng.random() < 0.2 else EventType.ANSWERED
        steps += [(EventType.QUEUED, queued, {}), (end, queued + wait, {})]
    last = max(t for _, t, _ in steps)
    if complaint:
        cause = rng.choice((*CAUSES, ""))
        steps.append((EventType.CLASSIFIED, last + MIN, {"root_cause": cause} if cause else {}))
    if rng.random() < 0.6:
        steps.append((EventType.RESOLVED, last + 2 * MIN, {}))
    steps.append((EventType.CLOSED, last + 3 * MIN, {}))
    return [
        ContactEvent(
            event_id=f"{cid}-{i}", contact_id=cid, tenant=tenant, region=region, channel=channel,
            type=etype, occurred_at=start + offset,
            kind=Kind.COMPLAINT if complaint else Kind.INQUIRY,
            customer_category=CustomerCategory(category), office=office, topic=topic,
            customer_ref=customer, related_to=related, attributes=attrs,
        )
        for i, (etype, offset, attrs) in enumerate(steps)
    ]  # fmt: skip


def build(seed: int = 7, customers: int = 40) -> Seed:
    rng = random.Random(seed)
    events: list[ContactEvent] = []
    n = 0
    for tenant in (TENANT, OTHER):
        for k in range(customers if tenant == TENANT else 5):
            customer = f"{tenant}-cust-{k}"
            category = rng.choice(["standard", "standard", "disabled", "veteran", "vulnerable"])
            region = rng.choice(REGIONS)
            for _ in range(rng.randint(1, 3)):
                topic = rng.choice(["outage", "meter", "bill"])
                t = T0 + rng.randint(0, 80) * D + rng.randint(0, 10) * H
                prev: str | None = None
                for _ in range(rng.randint(1, 3)):
                    n += 1
                    cid = f"{tenant}-c{n:04d}"
                    related = prev if prev and rng.random() < 0.5 else None
                    events += _contact(rng, tenant, cid, t, customer, topic, category, region,
                                       related)
                    prev = cid
                    t += rng.choice([2 * H, 3 * D, 6 * D, 12 * D])
    complaints = sorted({e.contact_id: e for e in events
                         if e.tenant == TENANT and e.kind is Kind.COMPLAINT}.values(),
                        key=lambda e: e.contact_id)  # fmt: skip
    steps = []
    for i in range(12):
        action, region, cause = f"act-{i}", rng.choice(REGIONS), rng.choice(CAUSES)
        planned = T0 + rng.randint(0, 60) * D
        due = planned + rng.choice([10 * D, 20 * D]) if rng.random() < 0.7 else None
        answers = tuple(e.contact_id for e in rng.sample(complaints, rng.randint(0, 2))
                        if e.region == region)  # fmt: skip
        steps.append(RemediationStep(f"{action}-p", TENANT, action, Step.PLANNED, planned,
                                     cause, region, f"owner-{i % 3}", due, answers))
        if rng.random() < 0.5:
            steps.append(RemediationStep(f"{action}-c", TENANT, action, Step.COMPLETED,
                                         planned + rng.randint(3, 25) * D))
            if rng.random() < 0.5:
                steps.append(RemediationStep(f"{action}-v", TENANT, action, Step.VERIFIED,
                                             planned + 40 * D))
    steps.append(RemediationStep("o-p", OTHER, "act-0", Step.PLANNED, T0, "meter", "tver"))
    return Seed(events, steps)


def step_datum(s: RemediationStep) -> dict[str, object]:
    return {"remediation_id": s.remediation_id, "tenant": s.tenant, "action_id": s.action_id,
            "step": s.step.value, "root_cause": s.root_cause, "region": s.region,
            "owner": s.owner, "due_at": s.due_at, "complaint_ids": list(s.complaint_ids),
            "recorded_by": "test", "key_id": "k", "at": s.at, "note": None}  # fmt: skip


def load(warehouse: Warehouse, data: Seed) -> None:
    """Insert through the sink's mappers (a third of the rows twice), link, backfill."""
    rows = [r for e in data.events for _, r in event_rows(event_to_datum(e))]
    warehouse.insert("events", TABLE_COLUMNS["events"], rows + rows[::3])
    steps = [r for s in data.steps for _, r in remediation_rows(step_datum(s))]
    warehouse.insert("remediation", TABLE_COLUMNS["remediation"], steps + steps[::2])
    link_appeals(warehouse, Scope(), window_ms=WINDOW, linked_at=NOW)
    backfill(warehouse, load_policy("rao-ues-2007"), Scope(), evaluated_at=NOW, as_of=NOW)
