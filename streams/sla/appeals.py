"""Appeals: a customer's contacts about one matter, linked, with the customer's time and FCR.

The standard asks for "minimal customer time spent on getting a service", which no single
contact shows: a customer who calls, is cut off, calls again and then writes has spent the sum
of three waits on one matter. This module links contacts into appeals and measures them.

Linking (union-find, so the result is a function of the *set* of contacts, never of the order
they arrived in):

* ``related_to`` names an earlier contact about the same matter: the two are one appeal (a
  ``related_to`` pointing outside the given contacts is ignored, not guessed).
* Contacts of one ``(tenant, customer_ref, topic)`` are walked in ``(received_at,
  contact_id)`` order; a contact joins the previous one's appeal when it arrived at most
  ``window_ms`` after the latest activity (last event) of that appeal's contacts so far. The
  same window therefore covers "still open, customer chases it" and "resolved, customer comes
  back within N days": a repeat within N days after a resolution counts against it.

Customer time of one contact (:func:`customer_time`), from its events sorted by
``(occurred_at, event_id)``:

* queue waits (phone, office, messenger): from ``queued`` (not already waiting) to the first
  ``answered``/``abandoned``/``closed``; a transfer re-queues and opens a new wait;
* call-back waits: ``callback_requested`` to ``callback_completed`` (or ``closed``);
* deferred channels (email, web, post): the first event to the first ``responded``.
A wait that has not ended is not counted; ``waiting_open`` says one is still running.
The ClickHouse view ``contact_customer_time`` computes the same figures in SQL independently
(schemas/clickhouse/009_...), and the end-to-end test checks that the two agree.

First-contact resolution: the appeal has exactly one contact and that contact was resolved.
The appeal's dimensions (channel, region, office, category) are those of its first contact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.events import Channel, ContactEvent, EventType

DEFERRED = frozenset({Channel.EMAIL, Channel.WEB, Channel.POST})
_QUEUE_END = frozenset({EventType.ANSWERED, EventType.ABANDONED, EventType.CLOSED})
_CALLBACK_END = frozenset({EventType.CALLBACK_COMPLETED, EventType.CLOSED})
GROUPS = ("channel", "region", "office", "customer_category")


@dataclass(frozen=True, slots=True)
class ContactTime:
    """What one contact cost the customer (times epoch ms, durations ms)."""

    contact_id: str
    tenant: str
    region: str
    channel: str
    office: str | None
    customer_category: str
    kind: str
    topic: str | None
    customer_ref: str | None
    related_to: str | None
    received_at: int
    last_at: int
    wait_ms: int
    waiting_open: bool
    resolved_at: int | None


@dataclass(frozen=True, slots=True)
class Appeal:
    """One matter of one customer: its contacts in arrival order and their summed figures."""

    appeal_id: str  # contact_id of the first contact
    tenant: str
    customer_ref: str | None
    topic: str | None
    channel: str
    region: str
    office: str | None
    customer_category: str
    started_at: int
    contact_ids: tuple[str, ...]
    wait_ms: int
    waiting_open: bool
    resolved: bool
    first_contact_resolution: bool

    @property
    def contacts(self) -> int:
        return len(self.contact_ids)


def _sorted_unique(events: Iterable[ContactEvent]) -> list[ContactEvent]:
    unique = {e.event_id: e for e in events}
    return sorted(unique.values(), key=lambda e: (e.occurred_at, e.event_id))


def customer_time(events: Iterable[ContactEvent]) -> ContactTime:
    """The customer's waiting time of one contact (its events, any order, duplicates allowed).

    Identity comes from the earliest event, office/category/kind/topic/customer_ref from the
    latest event that names one -- as the contact state derives them.
    """
    ordered = _sorted_unique(events)
    if not ordered:
        raise ValueError("a contact needs at least one event")
    first = ordered[0]
    total, queued_since, callback_since = 0, -1, -1
    responded_at: int | None = None
    resolved_at: int | None = None
    latest: dict[str, Any] = {}
    for e in ordered:
        t, kind = e.occurred_at, e.type
        if kind is EventType.QUEUED and queued_since < 0:
            queued_since = t
        elif kind in _QUEUE_END and queued_since >= 0:
            total, queued_since = total + t - queued_since, -1
        if kind is EventType.CALLBACK_REQUESTED and callback_since < 0:
            callback_since = t
        elif kind in _CALLBACK_END and callback_since >= 0:
            total, callback_since = total + t - callback_since, -1
        if kind is EventType.RESPONDED and responded_at is None:
            responded_at = t
        if kind is EventType.RESOLVED and resolved_at is None:
            resolved_at = t
        for name in ("office", "topic", "customer_ref", "related_to"):
            if getattr(e, name) is not None:
                latest[name] = getattr(e, name)
        if e.kind.value != "inquiry":
            latest["kind"] = e.kind.value
        if e.customer_category.value != "standard":
            latest["customer_category"] = e.customer_category.value
    waiting_open = queued_since >= 0 or callback_since >= 0
    if first.channel in DEFERRED:
        if responded_at is not None:
            total += responded_at - first.occurred_at
        else:
            waiting_open = waiting_open or ordered[-1].type is not EventType.CLOSED
    return ContactTime(
        contact_id=first.contact_id, tenant=first.tenant, region=first.region,
        channel=first.channel.value, office=latest.get("office"),
        customer_category=latest.get("customer_category", "standard"),
        kind=latest.get("kind", "inquiry"), topic=latest.get("topic"),
        customer_ref=latest.get("customer_ref"), related_to=latest.get("related_to"),
        received_at=first.occurred_at, last_at=ordered[-1].occurred_at, wait_ms=total,
        waiting_open=waiting_open, resolved_at=resolved_at,
    )  # fmt: skip


class _UnionFind:
    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _order(c: ContactTime) -> tuple[int, str]:
    return (c.received_at, c.contact_id)


def link(contacts: Sequence[ContactTime], window_ms: int) -> dict[str, str]:
    """contact_id -> appeal_id (the first contact's id) for contacts of any tenants.

    Contacts are keyed per tenant (a contact_id is unique within its tenant)."""
    _check_window(window_ms)
    uf = _UnionFind(f"{c.tenant}\x00{c.contact_id}" for c in contacts)
    for c in contacts:
        target = f"{c.tenant}\x00{c.related_to}"
        if c.related_to is not None and target in uf.parent:
            uf.union(f"{c.tenant}\x00{c.contact_id}", target)
    by_key: dict[tuple[str, str, str], list[ContactTime]] = defaultdict(list)
    for c in contacts:
        if c.customer_ref and c.topic:
            by_key[(c.tenant, c.customer_ref, c.topic)].append(c)
    for group in by_key.values():
        group.sort(key=_order)
        activity = group[0].last_at
        for prev, cur in zip(group, group[1:], strict=False):
            if cur.received_at - activity <= window_ms:
                uf.union(f"{cur.tenant}\x00{cur.contact_id}", f"{prev.tenant}\x00{prev.contact_id}")
                activity = max(activity, cur.last_at)
            else:
                activity = cur.last_at
    members: dict[str, list[ContactTime]] = defaultdict(list)
    for c in contacts:
        members[uf.find(f"{c.tenant}\x00{c.contact_id}")].append(c)
    out: dict[str, str] = {}
    for group in members.values():
        first = min(group, key=_order)
        for c in group:
            out[f"{c.tenant}\x00{c.contact_id}"] = first.contact_id
    return out


def _check_window(window_ms: int) -> None:
    if window_ms < 0:
        raise ValueError("the appeal window must not be negative")


def appeals(contacts: Sequence[ContactTime], window_ms: int) -> list[Appeal]:
    """Link the contacts and summarise each appeal; sorted by (tenant, started_at, appeal_id)."""
    if len(contacts) == 1:  # its own appeal, as link() finds; the live path's usual case
        _check_window(window_ms)
        return [_summary([contacts[0]])]
    links = link(contacts, window_ms)
    groups: dict[tuple[str, str], list[ContactTime]] = defaultdict(list)
    for c in contacts:
        groups[(c.tenant, links[f"{c.tenant}\x00{c.contact_id}"])].append(c)
    out = [_summary(sorted(g, key=_order)) for g in groups.values()]
    out.sort(key=lambda a: (a.tenant, a.started_at, a.appeal_id))
    return out


def _summary(group: list[ContactTime]) -> Appeal:
    first = group[0]
    resolved = any(c.resolved_at is not None for c in group)
    return Appeal(
        appeal_id=first.contact_id, tenant=first.tenant, customer_ref=first.customer_ref,
        topic=first.topic, channel=first.channel, region=first.region, office=first.office,
        customer_category=first.customer_category, started_at=first.received_at,
        contact_ids=tuple(c.contact_id for c in group),
        wait_ms=sum(c.wait_ms for c in group),
        waiting_open=any(c.waiting_open for c in group), resolved=resolved,
        first_contact_resolution=len(group) == 1 and first.resolved_at is not None,
    )  # fmt: skip


def appeals_from_events(events: Iterable[ContactEvent], window_ms: int) -> list[Appeal]:
    """Events of many contacts (any order, duplicates allowed) -> appeals."""
    per_contact: dict[tuple[str, str], list[ContactEvent]] = defaultdict(list)
    for e in events:
        per_contact[(e.tenant, e.contact_id)].append(e)
    return appeals([customer_time(evs) for evs in per_contact.values()], window_ms)


def summarise(items: Iterable[Appeal], group_by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Appeal figures per group: appeals, contacts, contacts per appeal, waits, FCR rate."""
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise ValueError(f"cannot group appeals by {unknown}; choose from {list(GROUPS)}")
    acc: dict[tuple[Any, ...], list[Appeal]] = defaultdict(list)
    for a in items:
        acc[tuple(getattr(a, g) for g in group_by)].append(a)
    rows = []
    for key in sorted(acc, key=lambda k: tuple("" if v is None else v for v in k)):
        group = acc[key]
        n, contacts = len(group), sum(a.contacts for a in group)
        fcr = sum(a.first_contact_resolution for a in group)
        wait = sum(a.wait_ms for a in group)
        rows.append({
            **dict(zip(group_by, key, strict=True)), "appeals": n, "contacts": contacts,
            "contacts_per_appeal": contacts / n,
            "repeat_appeals": sum(a.contacts > 1 for a in group), "wait_ms": wait,
            "avg_wait_ms": wait / n, "max_wait_ms": max(a.wait_ms for a in group),
            "resolved": sum(a.resolved for a in group), "fcr": fcr, "fcr_rate": fcr / n,
        })  # fmt: skip
    return rows


def appeal_to_json(a: Appeal) -> Mapping[str, Any]:
    return {
        "appeal_id": a.appeal_id, "tenant": a.tenant, "customer_ref": a.customer_ref,
        "topic": a.topic, "channel": a.channel, "region": a.region, "office": a.office,
        "customer_category": a.customer_category, "started_at": a.started_at,
        "contacts": a.contacts, "contact_ids": list(a.contact_ids), "wait_ms": a.wait_ms,
        "waiting_open": a.waiting_open, "resolved": a.resolved,
        "first_contact_resolution": a.first_contact_resolution,
    }  # fmt: skip
