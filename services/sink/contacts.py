"""The ``contacts`` projection: one folded state per contact, written by the sink on the stream
path and by `kontakt backfill` -- with the same code (:func:`contact_row` over
``streams.sla.state.build_state``), so both paths write identical rows.

Stream path (:class:`ContactsProjector`): after the sink has inserted a batch and BEFORE it
commits the batch's Kafka offsets, the contacts the batch touched are read back from
``events`` (every event of each contact, not just the new ones, in bounded IN-lists), folded
with the pure core and inserted as new ``contacts`` rows. Why before the commit: a crash
between the events insert and the projection leaves the batch uncommitted, Kafka delivers it
again, and the contacts are projected then -- no watermark to persist, no touched id lost.

Idempotent: ``build_state`` deduplicates by event_id, so a redelivered batch folds the same
events into the same row with the same ``version`` (the number of distinct events folded,
which only grows as a contact's events arrive); ReplacingMergeTree(version) keeps the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from schemas.codec import HEADER_SIZE, DecodeError, decode
from schemas.events import EventType
from services.ports import Warehouse
from streams.sla.state import ContactState, build_state

CONTACTS = "contacts"
CONTACT_COLUMNS: tuple[str, ...] = (
    "tenant", "contact_id", "region", "channel", "kind", "customer_category", "office", "agent",
    "queue", "topic", "customer_ref", "related_to", "status", "received_at", "queued_at",
    "answered_at", "abandoned_at", "registered_at", "assigned_at", "responded_at",
    "resolved_at", "closed_at", "updated_at", "event_count", "version",
)
_STEPS = (EventType.QUEUED, EventType.ANSWERED, EventType.ABANDONED, EventType.REGISTERED,
          EventType.ASSIGNED, EventType.RESPONDED, EventType.RESOLVED, EventType.CLOSED)

#: most contact ids in one IN-list (the parameter text stays well under a megabyte)
CHUNK_IDS = 10_000


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


def _avro_string_at(value: bytes, pos: int) -> tuple[bytes, int]:
    """The Avro string starting at ``pos`` (zig-zag varint length, then bytes) and the end."""
    shift = n = 0
    while True:
        b = value[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    n = (n >> 1) ^ -(n & 1)
    if n < 0 or pos + n > len(value):
        raise DecodeError("string length out of range")
    return value[pos:pos + n], pos + n


def encoded_contact_id(value: bytes) -> str:
    """The contact_id of a single-object-encoded ContactEventRecorded without decoding it all:
    every version starts with the strings event_id and contact_id (checked by a unit test
    against each schema in the catalog). Falls back to a full decode on anything odd."""
    try:
        _, pos = _avro_string_at(value, HEADER_SIZE)
        raw, _ = _avro_string_at(value, pos)
        return raw.decode()
    except (IndexError, UnicodeDecodeError, DecodeError):
        return str(decode(value)[1]["contact_id"])


def touched_contacts(
    event_rows: Sequence[Sequence[Any]] | None, encoded_values: Iterable[bytes]
) -> set[str]:
    """Contact ids of a sink batch: from decoded ``events`` rows (contact_id is the second
    column) and from the Avro values that went to ``events`` still encoded."""
    ids = {row[1] for row in event_rows or ()}
    for value in encoded_values:
        try:
            ids.add(encoded_contact_id(value))
        except DecodeError:
            continue  # undecodable: the sink counted it and inserted nothing for it
    return ids


def chunks(ids: Iterable[str], size: int = CHUNK_IDS) -> Iterator[list[str]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), size):
        yield ordered[i:i + size]


class ContactsProjector:
    """Re-folds the contacts a batch touched from their stored events and writes their rows.

    Runs in the sink's insert thread (the one that owns the warehouse), through the Warehouse
    port only, so it is the same for embedded chdb and a ClickHouse server."""

    def __init__(self, warehouse: Warehouse, chunk_ids: int = CHUNK_IDS) -> None:
        self.warehouse = warehouse
        self.chunk_ids = chunk_ids

    def project(self, contact_ids: Iterable[str]) -> int:
        """Write a fresh ``contacts`` row for each id that has stored events; returns how many."""
        from services.analytics import history, sql

        written = 0
        for chunk in chunks(contact_ids, self.chunk_ids):
            rows = self.warehouse.query(sql.events_of_contacts(), {"ids": chunk})
            states = [build_state(events) for events in history.group_by_contact(rows)]
            if states:
                self.warehouse.insert(CONTACTS, CONTACT_COLUMNS, [contact_row(s) for s in states])
            written += len(states)
        return written
