"""A small, hand-checkable history of two tenants for the query-API tests, inserted through the
sink's own row mappers (services.sink.rows) so the tests also cover the mapping. Duplicates and
older outcome revisions are included on purpose: every figure must come out as if they were not.
"""

from __future__ import annotations

from typing import Any

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, EventType, Kind, parse_timestamp
from services.ports import Warehouse
from services.sink.rows import (
    TABLE_COLUMNS,
    event_rows,
    metric_rows,
    outcome_rows,
    sla_alert_rows,
)

A, B = "grid-a", "heat-b"


def at(text: str) -> int:
    return parse_timestamp(text)


def outcome(
    tenant: str,
    contact: str,
    channel: str,
    region: str,
    status: str,
    elapsed_s: float,
    started: str,
    *,
    milestone: str = "phone.answer",
    evaluated: str | None = None,
    office: str | None = None,
    category: str = "standard",
    policy_version: int = 0,
    policy: str = "rao-ues-2007",
) -> dict[str, Any]:
    start = at(started)
    return {
        "outcome_id": f"{contact}|{milestone}|{status}|{evaluated}",
        "contact_id": contact,
        "milestone": milestone,
        "status": status,
        "started_at": start,
        "due_at": start + 40_000,
        "stopped_at": None if status == "open" else start + 1,
        "elapsed_ms": int(elapsed_s * 1000),
        "target_ms": 40_000,
        "warnings_crossed": [],
        "evaluated_at": at(evaluated) if evaluated else start + int(elapsed_s * 1000),
        "tenant": tenant,
        "region": region,
        "channel": channel,
        "contact_kind": "inquiry",
        "customer_category": category,
        "office": office,
        "policy_version": policy_version,
        "policy": policy,
    }


def event(
    tenant: str,
    contact: str,
    n: int,
    etype: EventType,
    when: str,
    *,
    channel: Channel = Channel.PHONE,
    region: str = "tver",
    kind: Kind = Kind.INQUIRY,
) -> dict[str, Any]:
    return event_to_datum(
        ContactEvent(
            event_id=f"{contact}-e{n}",
            contact_id=contact,
            tenant=tenant,
            region=region,
            channel=channel,
            type=etype,
            occurred_at=at(when),
            kind=kind,
        )
    )


def alert(tenant: str, contact: str, kind: str, when: str) -> dict[str, Any]:
    return {
        "alert_id": f"{contact}-{kind}",
        "alert": kind,
        "threshold": None,
        "contact_id": contact,
        "milestone": "phone.answer",
        "status": "breached",
        "started_at": at(when),
        "due_at": at(when) + 40_000,
        "stopped_at": None,
        "elapsed_ms": 40_001,
        "target_ms": 40_000,
        "raised_at": at(when) + 40_001,
        "tenant": tenant,
        "region": "tver",
        "channel": "phone",
        "contact_kind": "inquiry",
        "customer_category": "standard",
        "office": None,
    }


V1: dict[str, Any] = {"policy_version": 1, "policy": "rao-ues-2007"}
V2: dict[str, Any] = {"policy_version": 2, "policy": "kursk-strict"}

OUTCOMES = [
    # policy versions: a1, a2 and a4 judged by A's version 1, every revision of a3 by version 2
    # (Kursk's own rules), a5 and a9 by the platform default (version 0)
    outcome(A, "a1", "phone", "tver", "met", 30, "2026-03-10T09:00:00Z", **V1),
    outcome(A, "a2", "phone", "tver", "breached", 60, "2026-03-10T10:00:00Z", **V1),
    # a3: an older open revision, the final met revision, and that revision redelivered
    outcome(
        A,
        "a3",
        "phone",
        "kursk",
        "open",
        5,
        "2026-03-11T09:00:00Z",
        evaluated="2026-03-11T09:00:05Z",
        **V2,
    ),
    outcome(A, "a3", "phone", "kursk", "met", 20, "2026-03-11T09:00:00Z", **V2),
    outcome(A, "a3", "phone", "kursk", "met", 20, "2026-03-11T09:00:00Z", **V2),
    outcome(
        A, "a4", "email", "tver", "met", 3600, "2026-03-10T09:00:00Z", milestone="email.dispatch",
        **V1,
    ),
    outcome(
        A,
        "a5",
        "in_person",
        "tver",
        "breached",
        2400,
        "2026-03-10T11:00:00Z",
        milestone="office.wait",
        office="tver-1",
        category="veteran",
    ),
    # outside the reported period
    outcome(A, "a9", "phone", "tver", "breached", 99, "2026-05-01T09:00:00Z"),
    # tenant B: same contact id as one of A's, and a phone clock in the same region
    outcome(B, "a1", "phone", "tver", "breached", 50, "2026-03-10T09:00:00Z"),
    outcome(B, "b1", "phone", "tver", "breached", 70, "2026-03-10T09:30:00Z"),
]

EVENTS = [
    event(A, "a2", 1, EventType.QUEUED, "2026-03-10T10:00:00Z"),
    event(A, "a2", 2, EventType.ANSWERED, "2026-03-10T10:01:00Z"),
    event(A, "a2", 2, EventType.ANSWERED, "2026-03-10T10:01:00Z"),  # redelivered
    event(A, "a3", 1, EventType.QUEUED, "2026-03-11T09:00:00Z", region="kursk"),
    event(B, "b1", 1, EventType.QUEUED, "2026-03-10T09:30:00Z"),
    # regulatory: A has 4 phone appeals in 2026 (a2, a3, r1 a complaint, r4) and 1 email
    # service request, 1 phone appeal in 2025; B has 3 phone complaints + b1 in 2026
    event(A, "r1", 1, EventType.RECEIVED, "2026-02-01T09:00:00Z", kind=Kind.COMPLAINT),
    event(A, "r1", 2, EventType.RESOLVED, "2026-02-02T09:00:00Z", kind=Kind.COMPLAINT),
    event(A, "r1", 2, EventType.RESOLVED, "2026-02-02T09:00:00Z", kind=Kind.COMPLAINT),
    event(
        A,
        "r2",
        1,
        EventType.RECEIVED,
        "2026-04-01T09:00:00Z",
        channel=Channel.EMAIL,
        kind=Kind.SERVICE_REQUEST,
    ),
    event(A, "r3", 1, EventType.RECEIVED, "2025-06-01T09:00:00Z"),
    # first event at 22:30 UTC on 31 Dec 2025 = 01:30 on 1 Jan 2026 in Moscow: a 2026 appeal
    event(A, "r4", 1, EventType.RECEIVED, "2025-12-31T22:30:00Z"),
] + [
    event(B, f"rb{i}", 1, EventType.RECEIVED, "2026-03-01T09:00:00Z", kind=Kind.COMPLAINT)
    for i in range(3)
]

ALERTS = [
    alert(A, "a2", "breached", "2026-03-10T10:00:00Z"),
    alert(A, "a2", "breached", "2026-03-10T10:00:00Z"),  # re-emitted after a restart
    alert(B, "b1", "breached", "2026-03-10T09:30:00Z"),
]


def metrics_now(now_ms: int) -> list[dict[str, Any]]:
    """Snapshots for 'today': two partitions of A (one with an older snapshot too), one of B."""

    def snap(
        tenant: str, partition: int, taken_ms: int, offered: int, within: int
    ) -> dict[str, Any]:
        start = now_ms - now_ms % 86_400_000
        return {
            "snapshot_id": f"{partition}|{tenant}|{taken_ms}",
            "partition": partition,
            "tenant": tenant,
            "channel": "phone",
            "region": "tver",
            "office": None,
            "window": "today",
            "window_start": start,
            "window_end": start + 86_400_000,
            "taken_at": taken_ms,
            "offered": offered,
            "answered": within,
            "answered_in_threshold": within,
            "abandoned": 0,
            "short_abandoned": 0,
            "service_level": None,
            "asa_ms": 10_000.0,
            "waiting": 1,
            "longest_wait_ms": 5_000 * (partition + 1),
            "breaches": offered - within,
        }

    return [
        snap(A, 0, now_ms - 10_000, 5, 4),  # older snapshot of partition 0: replaced
        snap(A, 0, now_ms - 5_000, 10, 8),
        snap(A, 0, now_ms - 5_000, 10, 8),  # redelivered
        snap(A, 1, now_ms - 5_000, 10, 7),
        snap(B, 0, now_ms - 5_000, 100, 1),
    ]


def seed(warehouse: Warehouse, now_ms: int) -> None:
    batches: dict[str, list[tuple[Any, ...]]] = {}
    for mapper, datums in (
        (outcome_rows, OUTCOMES),
        (event_rows, EVENTS),
        (sla_alert_rows, ALERTS),
        (metric_rows, metrics_now(now_ms)),
    ):
        for datum in datums:
            for table, row in mapper(datum):
                batches.setdefault(table, []).append(row)
    # one insert per row: separate parts, so duplicates survive until a merge, as in life
    for table, rows in batches.items():
        for row in rows:
            warehouse.insert(table, TABLE_COLUMNS[table], [row])
