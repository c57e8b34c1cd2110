"""Live figures per tenant x channel x region: counts, service level, ASA, waiting."""

from __future__ import annotations

import itertools

from schemas.events import Channel, ContactEvent, EventType
from streams.live_metrics import LiveMetrics, MetricsConfig, facts_of, local_day

T0 = 1_795_000_020_000  # a whole minute, 2026-11-18 UTC


def ev(contact: str, etype: EventType, at: int, channel: Channel = Channel.PHONE,
       office: str | None = None) -> ContactEvent:
    return ContactEvent(f"{contact}-{etype}-{at}", contact, "t", "kursk", channel, etype, at,
                        office=office)


def call(contact: str, start: int, end_type: EventType | None, wait_ms: int) -> list[ContactEvent]:
    events = [ev(contact, EventType.QUEUED, start)]
    if end_type is not None:
        events.append(ev(contact, end_type, start + wait_ms))
    return events


def figures(live: LiveMetrics, now: int, window: str = "1m") -> dict:
    records = [r for r in live.snapshot(now) if r["window"] == window]
    start = now - now % 60_000 if window == "1m" else None
    return next(r for r in records if start is None or r["window_start"] == start)


def test_counts_service_level_asa_and_short_abandons() -> None:
    live = LiveMetrics(0, MetricsConfig(short_abandon_ms=5_000))
    contacts = {
        "a": call("a", T0, EventType.ANSWERED, 10_000),  # in threshold
        "b": call("b", T0 + 1000, EventType.ANSWERED, 50_000),  # late
        "c": call("c", T0 + 2000, EventType.ABANDONED, 3_000),  # short abandon
        "d": call("d", T0 + 3000, EventType.ABANDONED, 20_000),  # abandon
        "e": call("e", T0 + 4000, None, 0),  # still waiting
    }
    for cid, events in contacts.items():
        live.update(cid, facts_of(events, []))
    now = T0 + 30_000
    r = figures(live, now)
    assert (r["offered"], r["answered"], r["answered_in_threshold"]) == (5, 2, 1)
    assert (r["abandoned"], r["short_abandoned"]) == (1, 1)
    assert r["service_level"] == 1 / 4
    assert r["asa_ms"] == 30_000
    assert (r["waiting"], r["longest_wait_ms"]) == (1, 26_000)
    today = figures(live, now, "today")
    assert today["offered"] == 5 and today["window_start"] == local_day("kursk", now)[0]


def test_order_of_updates_does_not_change_the_figures() -> None:
    events = call("a", T0, EventType.ANSWERED, 10_000) + call("b", T0, EventType.ABANDONED, 9_000)
    results = set()
    for order in itertools.permutations(events):
        live = LiveMetrics(0)
        seen: dict[str, list[ContactEvent]] = {}
        for e in order:
            seen.setdefault(e.contact_id, []).append(e)
            ordered = sorted(seen[e.contact_id], key=lambda x: x.occurred_at)
            live.update(e.contact_id, facts_of(ordered, []))
        r = figures(live, T0 + 20_000)
        results.add((r["offered"], r["answered"], r["abandoned"], r["waiting"]))
    assert results == {(2, 1, 1, 0)}


def test_breaches_count_in_the_window_of_the_breach_instant() -> None:
    live = LiveMetrics(0)
    live.update("a", facts_of(call("a", T0, None, 0), [T0 + 70_000]))
    assert figures(live, T0 + 10_000)["breaches"] == 0  # arrival minute
    assert figures(live, T0 + 75_000)["breaches"] == 1  # the minute of the breach
    assert figures(live, T0 + 75_000, "today")["breaches"] == 1


def test_in_person_groups_by_office() -> None:
    live = LiveMetrics(0)
    for office in ("o1", "o2"):
        events = [ev(f"v-{office}", EventType.QUEUED, T0, Channel.IN_PERSON, office)]
        live.update(f"v-{office}", facts_of(events, []))
    offices = {r["office"] for r in live.snapshot(T0 + 1000) if r["window"] == "today"}
    assert offices == {"o1", "o2"}


def test_snapshot_records_fit_the_avro_schema() -> None:
    from schemas.codec import decode, encode

    live = LiveMetrics(3)
    live.update("a", facts_of(call("a", T0, EventType.ANSWERED, 1000), []))
    for record in live.snapshot(T0 + 5000):
        assert decode(encode("MetricsSnapshotTaken", record))[1] == record


def test_local_day_follows_the_region_zone() -> None:
    start, end = local_day("kursk", T0)
    assert end - start == 86_400_000
    assert (start + 3 * 3_600_000) % 86_400_000 == 0  # Moscow midnight = 21:00 UTC
    assert local_day("vladivostok", T0)[0] != start


def test_prune_forgets_old_buckets_but_keeps_waiting_contacts() -> None:
    live = LiveMetrics(0, MetricsConfig(keep_ms=3_600_000, max_wait_ms=10**12))
    live.update("old", facts_of(call("old", T0, EventType.ANSWERED, 1000), []))
    live.update("wait", facts_of(call("wait", T0, None, 0), []))
    later = T0 + 2 * 3_600_000
    live.prune(later)
    assert live.waiting(later)[("t", "phone", "kursk", None)][0] == 1
    assert all(r["offered"] == 0 for r in live.snapshot(later))


def test_prune_runs_at_most_every_prune_every_ms() -> None:
    live = LiveMetrics(0, MetricsConfig(keep_ms=60_000, prune_every_ms=600_000))
    live.prune(T0)  # the first call prunes (nothing yet) and starts the period
    live.update("old", facts_of(call("old", T0, EventType.ANSWERED, 1000), []))
    expired = T0 + 300_000  # older than keep_ms, but the period is not over
    live.prune(expired)
    assert any(r["offered"] for r in live.snapshot(expired))
    live.prune(T0 + 600_000)
    assert all(r["offered"] == 0 for r in live.snapshot(T0 + 600_000))


def test_waiting_follows_each_contact_as_it_changes() -> None:
    live = LiveMetrics(0, MetricsConfig(max_wait_ms=10**12))
    group = ("t", "phone", "kursk", None)
    for n in range(3):
        live.update(f"c{n}", facts_of(call(f"c{n}", T0 + n * 1000, None, 0), []))
    assert live.waiting(T0 + 10_000)[group] == (3, 10_000)
    live.update("c0", facts_of(call("c0", T0, EventType.ANSWERED, 5000), []))
    assert live.waiting(T0 + 10_000)[group] == (2, 9_000)
    for n in (1, 2):
        live.update(f"c{n}", facts_of(call(f"c{n}", T0 + n * 1000, EventType.ABANDONED, 2000),
                                      []))
    assert group not in live.waiting(T0 + 10_000)
