"""Contact state: the events of one contact, folded in whatever order they arrive.

The state keeps the events themselves (sorted by ``(occurred_at, event_id)``, one per
``event_id``) because every SLA answer is a pure function of that sorted tuple: arrival order
and duplicates cannot change it. Derived fields (kind, category, office, anomalies) are
recomputed from the sorted tuple on every fold, so they are order-independent too.
``state_to_dict`` writes a compact JSON form for the worker's tables (per-event fields only when
they differ from the contact's), ``state_from_dict`` reads it back exactly.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind
from streams.sla.records import positional_constructor

OPENING = frozenset({EventType.RECEIVED, EventType.QUEUED, EventType.CALLBACK_REQUESTED})
#: event type -> event types of which at least one must have happened before it
_REQUIRES: dict[EventType, frozenset[EventType]] = {
    EventType.ANSWERED: frozenset({EventType.QUEUED}),
    EventType.ABANDONED: frozenset({EventType.QUEUED}),
    EventType.CALLBACK_COMPLETED: frozenset({EventType.CALLBACK_REQUESTED}),
    EventType.REOPENED: frozenset({EventType.CLOSED, EventType.RESOLVED}),
}


@dataclass(frozen=True, slots=True)
class ContactState:
    contact_id: str
    tenant: str
    region: str
    channel: Channel
    kind: Kind
    customer_category: CustomerCategory
    office: str | None
    events: tuple[ContactEvent, ...]
    anomalies: tuple[str, ...] = ()


#: sort key of the state's events: (occurred_at, event_id), computed in C
_key = attrgetter("occurred_at", "event_id")


_new_state = positional_constructor(ContactState)
_PAUSED, _RESUMED, _CLOSED, _REOPENED = (
    EventType.PAUSED, EventType.RESUMED, EventType.CLOSED, EventType.REOPENED)
_ABANDONED, _ANSWERED = EventType.ABANDONED, EventType.ANSWERED
_INQUIRY, _STANDARD = Kind.INQUIRY, CustomerCategory.STANDARD


def _anomaly_of(e: ContactEvent, problem: str) -> str:
    """The text of one anomaly (built only when there is one: the common path stays cheap)."""
    etype = f"{e.type.value} ({e.event_id})"
    if problem == "identity":
        return f"event {e.event_id}: tenant/region/channel differ from the first event"
    if problem == "closed":
        return f"event {etype} after closed: ignored"
    if problem == "requires":
        needs = "/".join(sorted(n.value for n in _REQUIRES[e.type]))
        return f"impossible transition: {etype} before any of {needs}"
    return f"impossible transition: {etype} {problem}"


def _derive(events: tuple[ContactEvent, ...]) -> ContactState:
    """State from sorted, de-duplicated events, in one pass.

    Identity (tenant, region, channel) comes from the earliest event; kind and category from
    the latest event that sets a non-default value (a contact classified as a complaint stays
    one); office from the latest event naming one. Anomalies are reported, never raised.
    """
    first = events[0]
    channel, tenant, region = first.channel, first.tenant, first.region
    kind, category, office = _INQUIRY, _STANDARD, None
    found: list[str] = []
    if first.type not in OPENING:
        found.append(f"unknown contact: first event {first.event_id} is {first.type.value}")
    seen: set[EventType] = set()
    closed = paused = False
    for e in events:
        etype = e.type
        if e.kind is not _INQUIRY:
            kind = e.kind
        if e.customer_category is not _STANDARD:
            category = e.customer_category
        if e.office is not None:
            office = e.office
        if e.channel is not channel or e.tenant != tenant or e.region != region:
            found.append(_anomaly_of(e, "identity"))
        if closed:
            if etype is not _REOPENED:
                found.append(_anomaly_of(e, "closed"))
                continue
            closed = False
        needs = _REQUIRES.get(etype)
        if needs is not None and needs.isdisjoint(seen):
            found.append(_anomaly_of(e, "requires"))
        if etype is _PAUSED:
            if paused:
                found.append(_anomaly_of(e, "while paused"))
            paused = True
        elif etype is _RESUMED:
            if not paused:
                found.append(_anomaly_of(e, "while not paused"))
            paused = False
        elif etype is _ABANDONED and _ANSWERED in seen:
            found.append(_anomaly_of(e, "after answered"))
        elif etype is _CLOSED:
            closed = True
        seen.add(etype)
    # fields in declaration order, without the dataclass __init__ (records.py)
    return _new_state(
        first.contact_id, tenant, region, channel, kind, category, office, events, tuple(found)
    )


def fold(state: ContactState | None, event: ContactEvent) -> ContactState:
    """Add one event. A duplicate ``event_id`` returns ``state`` itself; the result does not
    depend on the order events arrive in. Raises ValueError for another contact's event (that
    is a partitioning bug of the caller, not a data problem)."""
    if state is None:
        return _derive((event,))
    if event.contact_id != state.contact_id:
        raise ValueError(
            f"event {event.event_id} is for {event.contact_id}, not {state.contact_id}"
        )
    if any(e.event_id == event.event_id for e in state.events):
        return state
    events = list(state.events)
    insort(events, event, key=_key)
    return _derive(tuple(events))


def build_state(events: Iterable[ContactEvent]) -> ContactState:
    """Fold many events of one contact at once (the replay path: one sort instead of n)."""
    unique: dict[str, ContactEvent] = {}
    for e in events:
        if e.event_id not in unique:
            unique[e.event_id] = e
    if not unique:
        raise ValueError("a contact state needs at least one event")
    ordered = sorted(unique.values(), key=_key)
    contact_ids = {e.contact_id for e in ordered}
    if len(contact_ids) > 1:
        raise ValueError(f"events of several contacts: {sorted(contact_ids)}")
    return _derive(tuple(ordered))


_OPTIONAL = ("office", "agent", "queue", "topic", "customer_ref", "related_to")


def state_to_dict(state: ContactState) -> dict[str, Any]:
    """Compact JSON-safe form: contact header once, each event as
    ``[event_id, type, occurred_at_ms, {fields that differ from the header}]``."""
    header = {
        "contact_id": state.contact_id,
        "tenant": state.tenant,
        "region": state.region,
        "channel": state.channel.value,
        "kind": state.kind.value,
        "customer_category": state.customer_category.value,
    }
    rows: list[list[Any]] = []
    for e in state.events:
        extra: dict[str, Any] = {}
        for name in ("tenant", "region", "channel", "kind", "customer_category"):
            value = getattr(e, name)
            if value != header[name]:
                extra[name] = value.value if name in ("channel", "kind", "customer_category") \
                    else value
        for name in _OPTIONAL:
            value = getattr(e, name)
            if value is not None:
                extra[name] = value
        if e.attributes:
            extra["attributes"] = dict(e.attributes)
        rows.append([e.event_id, e.type.value, e.occurred_at, extra] if extra
                    else [e.event_id, e.type.value, e.occurred_at])
    out: dict[str, Any] = {"v": 1, **header, "events": rows}
    if state.anomalies:
        out["anomalies"] = list(state.anomalies)
    return out


def state_from_dict(data: Mapping[str, Any]) -> ContactState:
    """Inverse of :func:`state_to_dict`; anomalies are recomputed, not trusted."""
    if data.get("v", 1) != 1:
        raise ValueError(f"state format v{data.get('v')} is newer than this code (v1)")
    events = []
    for row in data["events"]:
        extra: Mapping[str, Any] = row[3] if len(row) > 3 else {}
        events.append(ContactEvent(
            event_id=row[0],
            contact_id=data["contact_id"],
            tenant=extra.get("tenant", data["tenant"]),
            region=extra.get("region", data["region"]),
            channel=Channel(extra.get("channel", data["channel"])),
            type=EventType(row[1]),
            occurred_at=int(row[2]),
            kind=Kind(extra.get("kind", data["kind"])),
            customer_category=CustomerCategory(
                extra.get("customer_category", data["customer_category"])),
            office=extra.get("office"),
            agent=extra.get("agent"),
            queue=extra.get("queue"),
            topic=extra.get("topic"),
            customer_ref=extra.get("customer_ref"),
            related_to=extra.get("related_to"),
            attributes=dict(extra.get("attributes", {})),
        ))
    return _derive(tuple(sorted(events, key=_key)))
