"""The ``contacts`` projection: one folded state per contact, written by the sink on the stream
path and by `kontakt backfill` -- with the same code (:func:`contact_row` over
``streams.sla.state.build_state``), so both paths write identical rows.

Stream path (:class:`ContactsProjector`): the sink notes each batch ClickHouse accepted; a
thread beside it takes the contact ids noted since its last run every few seconds, reads
those contacts' events back from ``events`` (every event of each contact, in bounded
IN-lists), folds them with the pure core and inserts new ``contacts`` rows.

Idempotent: ``build_state`` deduplicates by event_id, so a redelivered batch folds the same
events into the same row with the same ``version`` (the number of distinct events folded,
which only grows as a contact's events arrive); ReplacingMergeTree(version) keeps the newest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from schemas.codec import HEADER_SIZE, DecodeError, decode
from schemas.events import EventType
from services.ports import Warehouse
from streams.sla.state import ContactState, build_state

log = logging.getLogger(__name__)

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
    """Re-folds touched contacts from their stored events and writes their rows, on its own
    thread beside the sink (the process that owns the warehouse), through the Warehouse port
    only -- the same for embedded chdb and a ClickHouse server.

    The sink hands over each accepted batch (:meth:`note`: O(1), no parsing on its thread);
    every ``interval_s`` the thread takes the contact ids noted since the last run (a contact
    touched by many batches is folded once) and projects them. Decoupled on purpose: folding
    in Python costs more per event than the sink spends, so gating the sink's commits on it
    would cap the sink at the fold's rate; instead ``contacts`` lags during a catch-up (the
    projector even waits while the sink writes full batches, up to ``max_defer_s``) and
    converges. Crash: ids noted but not yet projected are lost with the process; the next
    start runs :meth:`recover` first (see its docstring)."""

    def __init__(self, warehouse: Warehouse, interval_s: float = 2.0,
                 recover_s: float = 6 * 3600, chunk_ids: int = CHUNK_IDS,
                 max_defer_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.warehouse = warehouse
        self.interval_s = interval_s
        self.max_defer_s = max_defer_s
        self._clock = clock
        self._full_at = -1e18  # when the sink last wrote a full batch (it is catching up)
        self._oldest: float | None = None  # when the oldest pending batch was noted
        self.recover_s = recover_s
        self.chunk_ids = chunk_ids
        self.projected = 0  # contacts rows written (read by tests and the benchmark)
        self.runs = 0
        self._noted: list[tuple[Sequence[Sequence[Any]] | None, list[bytes]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, event_rows: Sequence[Sequence[Any]] | None, encoded: list[bytes],
             full: bool = False) -> None:
        """A batch whose events ClickHouse accepted (decoded rows and/or Avro values);
        ``full``: it was flushed for its size, i.e. the sink is working through a backlog."""
        now = self._clock()
        if full:
            self._full_at = now
        if event_rows or encoded:
            with self._lock:
                self._noted.append((event_rows, encoded))
                if self._oldest is None:
                    self._oldest = now

    def deferring(self) -> bool:
        """True while the sink is catching up (a full batch within the last interval) and
        nothing has waited ``max_defer_s``: folding holds the GIL the sink's consumer needs, so
        during a backlog the projector waits and then folds each contact once."""
        now = self._clock()
        with self._lock:
            oldest = self._oldest
        return (oldest is not None and now - self._full_at < self.interval_s
                and now - oldest < self.max_defer_s)

    def pending(self) -> bool:
        with self._lock:
            return bool(self._noted)

    def run_once(self) -> int:
        """Project every contact noted so far; returns how many rows were written."""
        with self._lock:
            noted, self._noted, oldest, self._oldest = self._noted, [], self._oldest, None
        ids: set[str] = set()
        for rows, values in noted:
            ids |= touched_contacts(rows, values)
        try:
            return self.project(ids)
        except Exception:
            with self._lock:  # keep them for the next run (ClickHouse may be back by then)
                self._noted[:0] = noted
                self._oldest = oldest if self._oldest is None or oldest is None else min(
                    oldest, self._oldest)
            raise

    def project(self, contact_ids: Iterable[str]) -> int:
        """Write a fresh ``contacts`` row for each id that has stored events; returns how many."""
        from services.analytics import history, sql

        written = 0
        for chunk in chunks(contact_ids, self.chunk_ids):
            rows = [orjson.loads(r[0]) for r in
                    self.warehouse.query(sql.events_of_contacts(), {"ids": chunk})]
            states = [build_state(events) for events in history.group_by_contact(rows)]
            if states:
                self.warehouse.insert(CONTACTS, CONTACT_COLUMNS, [contact_row(s) for s in states])
            written += len(states)
        self.projected += written
        self.runs += 1
        return written

    def recover(self) -> int:
        """After a restart: refold the contacts that have events ingested within ``recover_s``
        before the newest stored event and whose ``contacts`` row is missing or folded fewer
        distinct events than are stored. Nothing is persisted: the sink is the only writer of
        ``events`` and runs in this process, so events the projector never saw can only have
        been ingested shortly before the last stop (its lag then); a lag longer than
        ``recover_s`` needs `kontakt backfill`."""
        from services.analytics import sql

        rows = self.warehouse.query(sql.stale_contacts(), {"window_s": int(self.recover_s)})
        return self.project(str(r[0]) for r in rows)

    # --- the thread ------------------------------------------------------------------------

    def start(self) -> ContactsProjector:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kontakt-contacts", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 60.0) -> None:
        """Project what is still noted, then end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        try:
            self.recover()
        except Exception:
            log.exception("contacts: recovery after start failed; backfill may be needed")
        while True:
            stopping = self._stop.wait(self.interval_s)
            if not stopping and self.deferring():
                continue
            try:
                self.run_once()
            except Exception:
                log.exception("contacts: projection failed; retrying in %.0f s", self.interval_s)
            if stopping:
                return
