"""Re-evaluating stored history with the pure SLA core: the engine of what-if and backfill.

Event sourcing: the raw ``events`` table is the truth, every outcome table a disposable
projection. Both commands read the events of a set of contacts from ClickHouse in hash buckets
(``cityHash64(contact_id) % n``) so memory stays bounded by one bucket, rebuild each contact's
state with ``streams.sla.state.build_state`` and evaluate it with ``streams.sla.clock.evaluate``
-- exactly what the worker and ``kontakt sla evaluate`` call.

Duplicates: the events are read WITHOUT ``FINAL`` on purpose. build_state deduplicates by
event_id, so a redelivered row that ReplacingMergeTree has not merged yet changes nothing, and
skipping FINAL keeps the scan cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind
from services.analytics import sql
from services.analytics.scope import Scope
from services.ports import Warehouse
from streams.sla.clock import Outcome, evaluate
from streams.sla.policy import Policy
from streams.sla.state import build_state
from streams.sla.versions import Rules, rules_of

Progress = Callable[[int], None]  # called with the number of contacts just evaluated


class TooManyContacts(ValueError):
    """The period holds more contacts than one re-evaluation may take on; narrow it."""


@dataclass(frozen=True, slots=True)
class Evaluated:
    contacts: int
    as_of: int | None  # the latest stored event of the contacts: the evaluation instant
    outcomes: list[list[Outcome]]  # one list per policy, in the order given


#: enum members by value: a dict lookup is several times cheaper than Enum(value), which the
#: contacts projector and backfill call four times per event
_CHANNELS = {m.value: m for m in Channel}
_TYPES = {m.value: m for m in EventType}
_KINDS = {m.value: m for m in Kind}
_CATEGORIES = {m.value: m for m in CustomerCategory}


def row_to_event(row: Sequence[Any]) -> ContactEvent:
    """One row of :data:`sql.EVENT_COLUMNS` -> ContactEvent."""
    (event_id, contact_id, tenant, region, channel, etype, occurred_at, kind, category, office,
     agent, queue, topic, customer_ref, related_to, attributes) = row
    return ContactEvent(
        event_id=event_id,
        contact_id=contact_id,
        tenant=tenant,
        region=region,
        channel=_CHANNELS.get(channel) or Channel(channel),
        type=_TYPES.get(etype) or EventType(etype),
        occurred_at=sql.epoch_ms(occurred_at),
        kind=_KINDS.get(kind) or Kind(kind),
        customer_category=_CATEGORIES.get(category) or CustomerCategory(category),
        office=office or None,
        agent=agent or None,
        queue=queue or None,
        topic=topic or None,
        customer_ref=customer_ref or None,
        related_to=related_to or None,
        attributes=dict(attributes or {}),
    )


def contacts_in_buckets(
    warehouse: Warehouse, scope: Scope, buckets: int
) -> Iterator[list[list[ContactEvent]]]:
    """Per bucket, the event lists of its contacts (each sorted as the rows come back)."""
    for bucket in range(buckets):
        rows = warehouse.query(sql.contact_events(scope), sql.scope_params(scope, bucket, buckets))
        yield group_by_contact(rows)


def group_by_contact(rows: Iterable[Sequence[Any]]) -> list[list[ContactEvent]]:
    """Rows of :data:`sql.EVENT_COLUMNS` ordered by contact_id -> one event list per contact
    (backfill and the sink's contacts projector fold these)."""
    contacts: list[list[ContactEvent]] = []
    current: str | None = None
    for row in rows:
        event = row_to_event(row)
        if event.contact_id != current:
            contacts.append([])
            current = event.contact_id
        contacts[-1].append(event)
    return contacts


def evaluate_contacts(
    contacts: Iterable[Sequence[ContactEvent]], policies: Sequence[Policy | Rules], as_of: int
) -> list[list[Outcome]]:
    """Outcomes of every contact under each policy (one list per policy, same order); a Rules
    judges each contact by the version it selects for it (streams.sla.versions)."""
    rules = [rules_of(p) for p in policies]
    out: list[list[Outcome]] = [[] for _ in policies]
    for events in contacts:
        state = build_state(events)
        for i, chosen in enumerate(rules):
            out[i].extend(evaluate(state, chosen.for_state(state), as_of))
    return out


def evaluate_scope(
    warehouse: Warehouse,
    policies: Sequence[Policy | Rules],
    scope: Scope,
    *,
    max_contacts: int | None = None,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> Evaluated:
    """Every contact in scope, re-evaluated under each policy at the latest stored event (as
    `kontakt sla evaluate` does), bucket by bucket; TooManyContacts above ``max_contacts``."""
    total = count_contacts(warehouse, scope)
    if max_contacts is not None and total > max_contacts:
        raise TooManyContacts(
            f"{total} contacts in the period, more than {max_contacts}; narrow --from/--to"
        )
    if on_total is not None:
        on_total(total)
    when = latest_instant(warehouse, scope)
    out: list[list[Outcome]] = [[] for _ in policies]
    if when is None:
        return Evaluated(0, None, out)
    for bucket in contacts_in_buckets(warehouse, scope, buckets_for(total)):
        for mine, got in zip(out, evaluate_contacts(bucket, policies, when), strict=True):
            mine.extend(got)
        if progress is not None:
            progress(len(bucket))
    return Evaluated(total, when, out)


def latest_instant(warehouse: Warehouse, scope: Scope) -> int | None:
    """The latest occurred_at in scope: the default evaluation instant, as in replay."""
    rows = warehouse.query(sql.latest_event(scope), sql.scope_params(scope, 0, 1))
    if not rows or rows[0][0] is None or rows[0][1] == 0:
        return None
    return sql.epoch_ms(rows[0][0])


def count_contacts(warehouse: Warehouse, scope: Scope) -> int:
    rows = warehouse.query(sql.count_contacts(scope), sql.scope_params(scope, 0, 1))
    return int(rows[0][0]) if rows else 0


def buckets_for(contacts: int, per_bucket: int = 50_000) -> int:
    """Enough buckets that one holds about ``per_bucket`` contacts (memory bound)."""
    return max(1, -(-contacts // per_bucket))
