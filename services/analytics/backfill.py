"""`kontakt backfill`: rebuild the projections (contacts, outcomes) from the raw events with
the pure core.

Event sourcing: ``events`` is the truth and ``outcomes`` (with its materialized daily/hourly
statistics) a disposable projection. A full rebuild truncates the projection tables first; a
tenant rebuild deletes that tenant's rows; a rebuild limited to a period only overwrites (the
new rows carry a later ``evaluated_at``, so ReplacingMergeTree and every argMax reader prefer
them). The rows are the very records the worker would emit -- streams.emissions.outcome_record
-- mapped by the sink's own row function, so the three paths (stream, backfill, ``kontakt sla
evaluate``) share every line of SLA code and every column mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.events import EventType
from services.analytics import history, sql
from services.analytics.history import Scope
from services.ports import Warehouse
from services.sink.rows import TABLE_COLUMNS, outcome_rows
from streams.emissions import outcome_record, signature
from streams.sla.clock import evaluate
from streams.sla.policy import Policy
from streams.sla.state import ContactState, build_state

#: The projections a rebuild replaces: contact states, outcomes and the views fed from them.
PROJECTIONS = ("contacts", "outcomes", "outcome_stats_hourly", "outcome_stats_daily")

CONTACT_COLUMNS: tuple[str, ...] = (
    "tenant", "contact_id", "region", "channel", "kind", "customer_category", "office", "agent",
    "queue", "topic", "customer_ref", "related_to", "status", "received_at", "queued_at",
    "answered_at", "abandoned_at", "registered_at", "assigned_at", "responded_at",
    "resolved_at", "closed_at", "updated_at", "event_count", "version",
)
_STEPS = (EventType.QUEUED, EventType.ANSWERED, EventType.ABANDONED, EventType.REGISTERED,
          EventType.ASSIGNED, EventType.RESPONDED, EventType.RESOLVED, EventType.CLOSED)


def contact_row(state: ContactState) -> tuple[Any, ...]:
    """A ``contacts`` row (docs/analytics.md) from a folded contact: the first time of each
    step, the latest office/agent/queue/topic, the last event's type as status. version is the
    number of events folded, which only grows as events arrive."""
    events = state.events
    first: dict[EventType, int] = {}
    latest: dict[str, str] = {}
    for e in events:
        first.setdefault(e.type, e.occurred_at)
        for name in ("office", "agent", "queue", "topic"):
            value = getattr(e, name)
            if value is not None:
                latest[name] = value
    ref = next((e.customer_ref for e in events if e.customer_ref), None)
    related = next((e.related_to for e in events if e.related_to), None)
    return (
        state.tenant, state.contact_id, state.region, str(state.channel), str(state.kind),
        str(state.customer_category), latest.get("office"), latest.get("agent"),
        latest.get("queue"), latest.get("topic"), ref, related, str(events[-1].type),
        events[0].occurred_at, *(first.get(step) for step in _STEPS),
        events[-1].occurred_at, len(events), len(events),
    )


@dataclass(frozen=True, slots=True)
class BackfillResult:
    contacts: int
    outcomes: int
    as_of: int | None


def clear(warehouse: Warehouse, scope: Scope) -> None:
    """Remove the projection rows the rebuild replaces (see the module docstring)."""
    if scope.start_ms is not None or scope.end_ms is not None:
        return
    for table in PROJECTIONS:
        if scope.tenant is None:
            warehouse.execute(f"TRUNCATE TABLE IF EXISTS {table}")
        else:
            warehouse.execute(
                f"ALTER TABLE {table} DELETE WHERE tenant = {{tenant:String}} "
                "SETTINGS mutations_sync = 2",
                {"tenant": scope.tenant},
            )


def backfill(
    warehouse: Warehouse,
    policy: Policy,
    scope: Scope,
    *,
    evaluated_at: int,
    as_of: int | None = None,
    on_total: Callable[[int], None] | None = None,
    progress: history.Progress | None = None,
) -> BackfillResult:
    """Re-evaluate every contact in scope at ``as_of`` (default: the latest stored event,
    as `kontakt sla evaluate` does) and write one outcome row per (contact, milestone)."""
    when = as_of if as_of is not None else history.latest_instant(warehouse, scope)
    total = history.count_contacts(warehouse, scope)
    if on_total is not None:
        on_total(total)
    clear(warehouse, scope)
    if when is None or total == 0:
        return BackfillResult(0, 0, when)
    written = contacts = 0
    buckets = history.buckets_for(total)
    for bucket in history.contacts_in_buckets(warehouse, scope, buckets):
        states = [build_state(events) for events in bucket]
        rows = [
            row
            for state in states
            for o in evaluate(state, policy, when)
            for _, row in outcome_rows(outcome_record(o, signature(o), evaluated_at))
        ]
        if states:
            warehouse.insert("contacts", CONTACT_COLUMNS, [contact_row(s) for s in states])
        if rows:
            warehouse.insert(sql.OUTCOMES, TABLE_COLUMNS[sql.OUTCOMES], rows)
        written += len(rows)
        contacts += len(bucket)
        if progress is not None:
            progress(len(bucket))
    return BackfillResult(contacts, written, when)
