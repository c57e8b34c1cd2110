"""Where each folded contact event goes for live appeals, and the appeal table's writes.

Both agents link appeals with these functions; the linking rules are the pure
:mod:`streams.sla.appeal_stream`'s.

- An event whose contact names a customer (the event's ``customer_ref``, else the latest one its
  contact named) is **forwarded** as read to the internal ``appeal-events`` topic, keyed
  ``tenant|customer_ref``: a customer's contacts arrive on any partition of contact-events,
  and the re-keying brings them to one key, which the ``appeal-events`` agent links
  (streams.appeal_agent).
- An event whose contact names no customer is its own single-contact appeal (key
  ``tenant|#contact_id``). Nothing else can join it, so it needs no re-keying, and its figures
  are a function of its contact's events, which the contacts table holds already: the
  ``contact-events`` agent **emits it in place** from the contact's state before and after the
  event (:func:`emit_alone`) and keeps no appeal state for it. That saves, per event, a
  produce, a consume and a second decode (against re-keying), and the appeal table's read,
  decode, encode and changelog record (against linking it in place into that table; docs/streams.md
  "Known limits" has what each did to the worker's cost).

The appeal table's values record the partition they are kept in (``CustomerContacts.partition``),
so the retention sweep sends their tombstones to that changelog partition (values of
``#contact_id`` keys written by the workers before emit_alone, in their contact's partition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.codec import encode
from schemas.events import ContactEvent
from schemas.units import DAY_MS
from streams.outbox import OutRecord
from streams.sla.appeal_stream import (
    CustomerContacts,
    alone,
    appeal_datum,
    appeal_key,
    decode_state,
    encode_state,
    fold,
    received_at,
)
from streams.sla.state import ContactState

if TYPE_CHECKING:
    from streams.worker import Worker

APPEAL_UPDATED = "AppealUpdated"
#: appeal key -> (table partition, its state after the batch; None: delete the key)
Links = dict[bytes, tuple[int, CustomerContacts | None]]


def route(worker: Worker, event: ContactEvent, raw: bytes, before: ContactState | None,
          after: ContactState | None, out: list[OutRecord], now: int,
          before_print: str | None = None) -> str | None:
    """The event's part in live appeals: forwarded to appeal-events when its contact names a
    customer, else its contact's own appeal emitted in place (``before`` / ``after``: the
    contact's state before and after the event; None: none yet / the event did not fold).
    Returns the fingerprint of the own appeal ``after`` makes (None when forwarded), for the
    caller to pass as ``before_print`` with the contact's next event."""
    assert worker.appeal_events is not None
    customer = known_customer_ref(event, after)
    key = appeal_key(event.tenant, customer, event.contact_id).encode()
    if customer:
        out.append(OutRecord(worker.appeal_events.get_topic_name(), key, raw))
    elif after is not None:
        return emit_alone(worker, key, before, after, event.event_id, out, now, before_print)
    return None


def known_customer_ref(event: ContactEvent, state: ContactState | None) -> str | None:
    """The event's customer_ref, else the latest one its contact named (``state``: the
    contact's state after the fold, if the worker has it)."""
    if event.customer_ref:
        return event.customer_ref
    if state is not None:
        for e in reversed(state.events):
            if e.customer_ref:
                return str(e.customer_ref)
    return None


def emit_alone(worker: Worker, key: bytes, before: ContactState | None, after: ContactState,
               event_id: str, out: list[OutRecord], now: int,
               before_print: str | None = None) -> str:
    """A contact naming no customer: an AppealUpdated of its own appeal when the event changed
    its figures or was already held (streams.sla.appeal_stream.alone); no appeal state is
    kept. Returns the appeal's fingerprint after the event (the caller keeps it in memory
    with the contact's entry, streams.agents.fold_event)."""
    window_ms = worker.settings.appeal_window_days * DAY_MS
    appeal, update_id, changed = alone(None if before is None else before.events, after.events,
                                       event_id, window_ms=window_ms, before_print=before_print)
    if changed:
        assert worker.appeals is not None
        datum = appeal_datum(appeal, window_ms=window_ms, linked_at=linked_at(worker, now),
                             received={after.contact_id: after.events[0].occurred_at},
                             update_id=update_id)
        out.append(OutRecord(worker.appeals.get_topic_name(), key,
                             encode(APPEAL_UPDATED, datum)))
    return update_id


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
