"""Where each folded contact event goes for live appeals, and the appeal table's writes.

Both agents link appeals with these functions; the linking rules are the pure
:mod:`streams.sla.appeal_stream`'s.

- An event whose contact names a customer (the event's ``customer_ref``, else the latest one its
  contact named) is **forwarded** as read to the internal ``appeal-events`` topic, keyed
  ``tenant|customer_ref``: a customer's contacts arrive on any partition of contact-events,
  and the re-keying brings them to one key, which the ``appeal-events`` agent links
  (streams.appeal_agent).
- An event whose contact names no customer is its own single-contact appeal (key
  ``tenant|#contact_id``). Nothing else can join it, so it needs no re-keying: the
  ``contact-events`` agent **links it in place**, into the appeal table's partition of the
  contact's own events partition (which the same worker holds; faust assigns equal partitions
  of co-partitioned topics together). It saves a produce, a consume and a second decode of
  the event (docs/streams.md "Known limits" has what that did to breach latency).

The state records the partition it is kept in (``CustomerContacts.partition``), so the
retention sweep sends its tombstone to that changelog partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.codec import encode
from schemas.events import ContactEvent
from schemas.units import DAY_MS
from streams.outbox import OutRecord
from streams.sla.appeal_stream import (
    CustomerContacts,
    appeal_datum,
    appeal_key,
    decode_state,
    encode_state,
    fold,
    received_at,
)

if TYPE_CHECKING:
    from streams.worker import Worker

APPEAL_UPDATED = "AppealUpdated"
#: appeal key -> (table partition, its state after the batch; None: delete the key)
Links = dict[bytes, tuple[int, CustomerContacts | None]]


def route(worker: Worker, event: ContactEvent, raw: bytes, held: Any, partition: int,
          links: Links, out: list[OutRecord], now: int) -> None:
    """The event's part in live appeals: forwarded to appeal-events when its contact names a
    customer, else linked in place (``held``: the contact's Entry, for its customer_ref)."""
    assert worker.appeal_events is not None
    customer = known_customer_ref(event, held)
    key = appeal_key(event.tenant, customer, event.contact_id).encode()
    if customer:
        out.append(OutRecord(worker.appeal_events.get_topic_name(), key, raw))
    else:
        link(worker, key, partition, event, links, out, now)


def known_customer_ref(event: ContactEvent, held: Any) -> str | None:
    """The event's customer_ref, else the latest one its contact named (``held``: the
    contact's Entry after the fold, if the worker has it)."""
    if event.customer_ref:
        return event.customer_ref
    state = getattr(held, "state", None)
    if state is not None:
        for e in reversed(state.events):
            if e.customer_ref:
                return str(e.customer_ref)
    return None


def link(worker: Worker, key: bytes, partition: int, event: ContactEvent, links: Links,
         out: list[OutRecord], now: int) -> None:
    """Fold ``event`` into its key's state (the batch's, from ``links``, else the table's at
    ``partition``), and append an AppealUpdated for each appeal whose figures changed. Raises
    what the core raises (the caller parks the event as a dead letter)."""
    settings = worker.settings
    window_ms = settings.appeal_window_days * DAY_MS
    if key in links:
        state = links[key][1]
    else:
        value = worker.store_of(worker.appeal_table).get(partition, key)
        state = None if value is None else decode_state(value)
    state, updated = fold(state, event, window_ms=window_ms, keep_ms=keep_ms(worker))
    if state is not None:
        state.partition = partition
    links[key] = (partition, state)
    if not updated:
        return
    assert worker.appeals is not None and state is not None
    topic = worker.appeals.get_topic_name()
    received = received_at(state)
    for appeal in updated:
        datum = appeal_datum(appeal, window_ms=window_ms, linked_at=linked_at(worker, now),
                             received=received)
        out.append(OutRecord(topic, key, encode(APPEAL_UPDATED, datum)))


def write_links(worker: Worker, links: Links, out: list[OutRecord]) -> None:
    """Each changed key once: its value into the store of its partition (or deleted), and the
    same key and value as a changelog record to that partition."""
    table = worker.appeal_table
    store = worker.store_of(table)
    changelog = table.changelog_topic.get_topic_name()
    for key, (partition, state) in links.items():
        if state is None:
            store.delete(partition, key)
            value = None
        else:
            value = encode_state(state)
            store.put(partition, key, value)
        out.append(OutRecord(changelog, key, value, partition))


def linked_at(worker: Worker, now: int) -> int:
    """Strictly increasing per process, so two updates of a contact never tie in
    appeal_links (ReplacingMergeTree(linked_at), read with argMax)."""
    worker.appeal_linked_at = max(now, worker.appeal_linked_at + 1)
    return worker.appeal_linked_at


def keep_ms(worker: Worker) -> int:
    settings = worker.settings
    return int((settings.appeal_window_days + settings.worker_appeal_keep_days) * DAY_MS)
