"""`kontakt backfill`: rebuild the projections (contacts, outcomes) from the raw events with
the pure core.

Event sourcing: ``events`` is the truth and ``outcomes`` (with its materialized daily/hourly
statistics) a disposable projection. A full rebuild truncates the projection tables first; a
tenant rebuild deletes that tenant's rows; a rebuild limited to a period only overwrites (the
new rows carry a later ``evaluated_at``, so ReplacingMergeTree and every argMax reader prefer
them). The rows are the very records the worker would emit -- streams.emissions.outcome_record
-- mapped by the sink's own row function, and the contacts rows by the sink's contacts
projector's own mapping (services/sink/contacts.py), so the three paths (stream, backfill,
``kontakt sla evaluate``) share every line of SLA code and every column mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.analytics import history, sql
from services.analytics.scope import Scope
from services.ports import Warehouse
from services.sink.contacts import CONTACT_COLUMNS, CONTACTS, contact_row
from services.sink.rows import TABLE_COLUMNS, outcome_rows
from streams.emissions import outcome_record, signature
from streams.sla.clock import evaluate
from streams.sla.policy import Policy
from streams.sla.state import build_state
from streams.sla.versions import Rules, rules_of

#: The projections a rebuild replaces: contact states, outcomes and the views fed from them.
PROJECTIONS = (CONTACTS, "outcomes", "outcome_stats_hourly", "outcome_stats_daily")


@dataclass(frozen=True, slots=True)
class BackfillResult:
    contacts: int
    outcomes: int
    as_of: int | None


def clear(warehouse: Warehouse, scope: Scope) -> None:
    """Remove the projection rows the rebuild replaces (see the module docstring)."""
    if scope.start_ms is not None or scope.end_ms is not None or scope.regions:
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
    policy: Policy | Rules,
    scope: Scope,
    *,
    evaluated_at: int,
    as_of: int | None = None,
    on_total: Callable[[int], None] | None = None,
    progress: history.Progress | None = None,
) -> BackfillResult:
    """Re-evaluate every contact in scope at ``as_of`` (default: the latest stored event,
    as `kontakt sla evaluate` does) and write one outcome row per (contact, milestone). With
    Rules, each contact is judged by the version its tenant's rules select, as in the worker."""
    rules = rules_of(policy)
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
            for o in evaluate(state, rules.for_state(state), when)
            for _, row in outcome_rows(outcome_record(o, signature(o), evaluated_at))
        ]
        if states:
            warehouse.insert(CONTACTS, CONTACT_COLUMNS, [contact_row(s) for s in states])
        if rows:
            warehouse.insert(sql.OUTCOMES, TABLE_COLUMNS[sql.OUTCOMES], rows)
        written += len(rows)
        contacts += len(bucket)
        if progress is not None:
            progress(len(bucket))
    return BackfillResult(contacts, written, when)
