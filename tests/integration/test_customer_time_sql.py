"""The customer-time SQL (view contact_customer_time, migration 009) and the pure core
(streams/sla/appeals.customer_time) are two implementations of one rule; on random contacts --
any channel, events in any order with ties at the same millisecond, re-queues, call-backs,
closes mid-queue, redelivered rows -- they must give the same figures for every contact."""

from __future__ import annotations

import random

import pytest

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.scope import Scope
from services.appeals.linking import link_appeals
from services.sink.rows import TABLE_COLUMNS, event_rows
from streams.sla.appeals import appeals, customer_time

T0 = 1_793_000_000_000  # 2026-10-26
TYPES = [EventType.QUEUED, EventType.ANSWERED, EventType.ABANDONED, EventType.CLOSED,
         EventType.CALLBACK_REQUESTED, EventType.CALLBACK_COMPLETED, EventType.RESPONDED,
         EventType.RESOLVED, EventType.REGISTERED]  # fmt: skip


def _contacts(seed: int, n: int) -> list[ContactEvent]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        channel = rng.choice(list(Channel))
        start = T0 + rng.randint(0, 30 * 86_400) * 1000
        related = f"c{rng.randint(0, n)}" if rng.random() < 0.03 else None  # c{n}: no such
        steps = [(EventType.RECEIVED, 0)] + [
            (rng.choice(TYPES), rng.choice([0, 0, 1, rng.randint(0, 3 * 86_400_000)]))
            for _ in range(rng.randint(0, 8))
        ]
        for j, (etype, offset) in enumerate(steps):
            events.append(ContactEvent(
                event_id=f"c{i}-{rng.randint(0, 99):02d}-{j}", contact_id=f"c{i}",
                tenant="mrsk", region="tver", channel=channel, type=etype,
                occurred_at=start + offset, kind=rng.choice(list(Kind)),
                customer_category=rng.choice(list(CustomerCategory)),
                office=rng.choice([None, "tver-1"]), topic=rng.choice([None, "t1", "t2"]),
                customer_ref=rng.choice([None, *(f"u{k}" for k in range(40))]),
                related_to=related,
            ))  # fmt: skip
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_view_equals_the_core_on_random_contacts(
    seed: int, migrated_warehouse: ChdbWarehouse
) -> None:
    events = _contacts(seed, 300)
    rows = [r for e in events for _, r in event_rows(event_to_datum(e))]
    migrated_warehouse.insert("events", TABLE_COLUMNS["events"], rows + rows[::4])
    link_appeals(migrated_warehouse, Scope(), window_ms=86_400_000, linked_at=T0)
    per: dict[str, list[ContactEvent]] = {}
    for e in events:
        per.setdefault(e.contact_id, []).append(e)
    want = {}
    for cid, evs in per.items():
        t = customer_time(evs)
        want[cid] = (t.wait_ms, int(t.waiting_open), int(t.resolved_at is not None),
                     t.customer_category, t.kind, t.office, t.topic, t.customer_ref)
    got = migrated_warehouse.query(
        "SELECT contact_id, wait_ms, waiting_open, resolved, customer_category, kind, office, "
        "topic, customer_ref FROM contact_customer_time(tenant = 'mrsk', "
        "start = '2026-01-01 00:00:00', end = '2027-01-01 00:00:00')")
    assert len(got) == len(want)
    mismatched = {r[0]: (tuple(r[1:]), want[r[0]]) for r in got if tuple(r[1:]) != want[r[0]]}
    assert not mismatched, list(mismatched.items())[:5]
    assert sum(w[0] > 0 for w in want.values()) > 50  # the check is not vacuous

    core = appeals([customer_time(evs) for evs in per.values()], 86_400_000)
    want_appeals = sorted(
        (a.appeal_id, list(a.contact_ids), a.channel, a.office, a.customer_category, a.topic,
         a.customer_ref, a.wait_ms, int(a.waiting_open), int(a.resolved),
         int(a.first_contact_resolution)) for a in core)  # fmt: skip
    got_appeals = migrated_warehouse.query(
        "SELECT appeal_id, contact_ids, channel, office, customer_category, topic, "
        "customer_ref, wait_ms, waiting_open, resolved, first_contact_resolution "
        "FROM appeal_figures(tenant = 'mrsk', start = '2026-01-01 00:00:00', "
        "end = '2027-01-01 00:00:00') ORDER BY appeal_id")
    assert [tuple(r) for r in got_appeals] == want_appeals
    assert len(core) > 100 and sum(len(a.contact_ids) > 1 for a in core) > 10
