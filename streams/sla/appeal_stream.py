"""Appeals as they happen: one customer's recent contacts, re-linked on every event.

The worker re-keys contact events by customer (``appeal_key``) and keeps, per key, the events
of that customer's recent contacts (:class:`CustomerContacts`). :func:`fold` adds one event and
re-runs the *same* pure linking as the batch rebuild (:func:`streams.sla.appeals.appeals` over
:func:`~streams.sla.appeals.customer_time`), then returns the appeals whose figures differ
from what this key last emitted. No faust, no clock, no I/O here.

Why this equals `kontakt appeals link` on the same events: linking only joins contacts of one
customer (same customer_ref and topic) or by ``related_to``; a customer's contacts all reach one
key, so linking them per key gives the same components as linking everything, as long as a
``related_to`` points at a contact of the same customer (one pointing elsewhere is ignored here;
the rebuild links it). Events without a customer_ref anywhere in their contact are keyed by the
contact: a single-contact appeal.

Bounded state: an appeal whose latest activity is more than ``keep_ms`` before the newest event
of the key leaves the state as a whole (its first contact never goes alone, so the remaining
appeals keep their ids; removing a whole earlier component never changes how later contacts link,
because a window gap stays a gap); a key with no event for ``keep_ms`` leaves the table
(:func:`expired`, the worker's retention sweep).
Redelivery: an event already held changes nothing and re-emits the appeal it belongs to,
identical to what it emitted before if nothing else arrived since (deterministic figures and
update ids), so a crash between the table write and the output loses no update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind
from streams.sla.appeals import Appeal, appeals, customer_time

#: key prefix of a contact without a customer_ref (its own single-contact appeal)
CONTACT_KEY = "#"


def appeal_key(tenant: str, customer_ref: str | None, contact_id: str) -> str:
    """The re-keying of the appeal stream: tenant|customer_ref, else tenant|#contact_id."""
    if customer_ref:
        return f"{tenant}|{customer_ref}"
    return f"{tenant}|{CONTACT_KEY}{contact_id}"


def is_contact_key(key: str) -> bool:
    return key.split("|", 1)[-1].startswith(CONTACT_KEY)


@dataclass(slots=True)
class CustomerContacts:
    """What the worker keeps per appeal key: each contact's events (by event_id) and the
    fingerprint of each appeal as last emitted."""

    events: dict[str, dict[str, ContactEvent]] = field(default_factory=dict)
    emitted: dict[str, str] = field(default_factory=dict)
    newest: int = 0  # the latest occurred_at seen under this key
    #: the table partition the key's value is kept in (None in values from before it was
    #: recorded: the partition the producer's partitioner gives the key)
    partition: int | None = None


def fingerprint(a: Appeal) -> str:
    """Identifies an appeal's figures: equal figures, equal fingerprint (the update id)."""
    raw = "|".join(str(v) for v in (
        a.tenant, a.appeal_id, ",".join(a.contact_ids), a.started_at, a.wait_ms,
        a.waiting_open, a.resolved, a.first_contact_resolution, a.customer_ref, a.topic,
        a.channel, a.region, a.office, a.customer_category,
    ))  # fmt: skip
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def fold(
    state: CustomerContacts | None, event: ContactEvent, *, window_ms: int, keep_ms: int
) -> tuple[CustomerContacts | None, list[Appeal]]:
    """Add ``event`` to the key's contacts; (new state or None to delete, appeals to emit)."""
    state = state if state is not None else CustomerContacts()
    held = state.events.setdefault(event.contact_id, {})
    duplicate = event.event_id in held
    held[event.event_id] = event
    state.newest = max(state.newest, event.occurred_at)
    current = appeals([customer_time(evs.values()) for evs in state.events.values()], window_ms)
    out: list[Appeal] = []
    emitted: dict[str, str] = {}
    for a in current:
        fp = fingerprint(a)
        emitted[a.appeal_id] = fp
        if state.emitted.get(a.appeal_id) != fp or (duplicate and event.contact_id in
                                                     a.contact_ids):
            out.append(a)
    state.emitted = emitted
    _prune(state, current, keep_ms)
    return (state if state.events else None), out


def alone(
    before: Sequence[ContactEvent] | None, after: Sequence[ContactEvent], event_id: str, *,
    window_ms: int, before_print: str | None = None,
) -> tuple[Appeal, str, bool]:
    """A contact that names no customer is its own appeal, whose figures are a function of its
    own events: the worker derives it from the contact's state (``before`` / ``after`` the
    event ``event_id``; None: a new contact) and keeps nothing else for it. Returns the appeal
    after the event, its fingerprint, and whether to emit it -- exactly when :func:`fold`
    emits for the key ``tenant|#contact_id`` (tests/unit/test_sla_appeals.py): the figures
    changed, or the event was already held (a redelivery re-emits the same update).
    ``before_print``: the fingerprint of the appeal ``before`` makes, when the caller kept it
    from the previous event (then ``before``'s appeal is not worked out again)."""
    (current,) = appeals([customer_time(after)], window_ms)
    after_print = fingerprint(current)
    if before is None or any(e.event_id == event_id for e in before):
        return current, after_print, True
    if before_print is None:
        (previous,) = appeals([customer_time(before)], window_ms)
        before_print = fingerprint(previous)
    return current, after_print, before_print != after_print


def _prune(state: CustomerContacts, current: Sequence[Appeal], keep_ms: int) -> None:
    horizon = state.newest - keep_ms
    for a in current:
        last = max(e.occurred_at for cid in a.contact_ids for e in state.events[cid].values())
        if last < horizon:
            for cid in a.contact_ids:
                del state.events[cid]
            del state.emitted[a.appeal_id]


def received_at(state: CustomerContacts) -> dict[str, int]:
    """contact_id -> the instant of its first event (what the board's repeat note needs)."""
    return {cid: min(e.occurred_at for e in evs.values()) for cid, evs in state.events.items()}


def expired(state: CustomerContacts, now: int, keep_ms: int) -> bool:
    """The retention sweep: no event under this key for ``keep_ms`` before ``now`` (the
    worker's clock): the key leaves the table (a later event starts it afresh)."""
    return state.newest < now - keep_ms


# --- table value encoding (JSON; the attributes of an event are not needed for appeals) ------

_FIELDS = ("office", "topic", "customer_ref", "related_to")


def encode_state(state: CustomerContacts) -> bytes:
    contacts = []
    for cid, evs in state.events.items():
        rows = [[e.event_id, e.type.value, e.occurred_at, e.tenant, e.region, e.channel.value,
                 e.kind.value, e.customer_category.value, *(getattr(e, f) for f in _FIELDS)]
                for e in evs.values()]  # fmt: skip
        contacts.append([cid, rows])
    data: dict[str, Any] = {"v": 1, "c": contacts, "e": state.emitted, "n": state.newest}
    if state.partition is not None:
        data["p"] = state.partition
    return orjson.dumps(data)


def decode_state(raw: bytes) -> CustomerContacts:
    data: dict[str, Any] = orjson.loads(raw)
    events: dict[str, dict[str, ContactEvent]] = {}
    for cid, rows in data["c"]:
        events[cid] = {
            r[0]: ContactEvent(
                event_id=r[0], contact_id=cid, tenant=r[3], region=r[4], channel=Channel(r[5]),
                type=EventType(r[1]), occurred_at=int(r[2]), kind=Kind(r[6]),
                customer_category=CustomerCategory(r[7]), office=r[8], topic=r[9],
                customer_ref=r[10], related_to=r[11],
            )
            for r in rows
        }  # fmt: skip
    return CustomerContacts(events, dict(data["e"]), int(data["n"]), data.get("p"))


# --- the AppealUpdated record --------------------------------------------------------------

def appeal_datum(
    a: Appeal, *, window_ms: int, linked_at: int, received: Mapping[str, int] | None = None,
    update_id: str | None = None,
) -> dict[str, Any]:
    """An AppealUpdated datum (schemas/avro/AppealUpdated.v1.avsc); ``received``: contact_id
    -> its first event's instant (:func:`received_at`), for contact_received_at;
    ``update_id``: ``fingerprint(a)`` when the caller has it already."""
    return {
        "contact_received_at": [received.get(c, a.started_at) for c in a.contact_ids]
        if received else [],
        "update_id": fingerprint(a) if update_id is None else update_id,
        "tenant": a.tenant, "appeal_id": a.appeal_id,
        "customer_ref": a.customer_ref, "topic": a.topic, "channel": a.channel,
        "region": a.region, "office": a.office, "customer_category": a.customer_category,
        "started_at": a.started_at, "contact_ids": list(a.contact_ids),
        "wait_ms": a.wait_ms, "waiting_open": a.waiting_open, "resolved": a.resolved,
        "first_contact_resolution": a.first_contact_resolution, "window_ms": window_ms,
        "linked_at": linked_at,
    }  # fmt: skip
