"""Live appeals on the real broker and warehouse: a simulated week of contacts with repeat
contacts goes through the real `kontakt worker`, which is SIGKILLed mid-stream and restarted;
its AppealUpdated records go through the sink to ClickHouse. Then:

* the stream's links (the latest update of each contact) equal the pure core's linking of the
  same events, appeal ids included -- the crash and the redelivery changed nothing;
* appeal_figures over the stream's appeal_links equal the core's figures (no batch job ran);
* `kontakt appeals link` (link_appeals, the rebuild) over the same events gives the same rows.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from schemas.events import format_timestamp
from schemas.units import DAY_MS, SECOND_MS
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.scope import Scope
from services.appeals.linking import link_appeals
from services.sink.batch import BatchLimits
from services.sink.runner import Sink, SinkConfig
from streams.sla.appeals import appeals_from_events
from tests.fixtures.appeal_week import TENANT, week
from tests.fixtures.worker import WorkerStack, wait_until

pytestmark = pytest.mark.kafka

WINDOW = 7 * DAY_MS


def _latest(stack: WorkerStack) -> dict[str, tuple[int, dict[str, Any]]]:
    """contact_id -> (linked_at, update) of its latest AppealUpdated."""
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for name, d in stack.decoded("appeals"):
        assert name == "AppealUpdated"
        for cid in d["contact_ids"]:
            if cid not in out or out[cid][0] < d["linked_at"]:
                out[cid] = (d["linked_at"], d)
    return out


def _figures(warehouse: ChdbWarehouse, start: int, end: int) -> list[tuple[Any, ...]]:
    return warehouse.query(
        "SELECT appeal_id, contacts, contact_ids, wait_ms, resolved, first_contact_resolution, "
        "customer_category FROM appeal_figures(tenant = {t:String}, start = {s:String}, "
        "end = {e:String}) ORDER BY appeal_id",
        {"t": TENANT, "s": format_timestamp(start)[:19].replace("T", " "),
         "e": format_timestamp(end)[:19].replace("T", " ")})  # fmt: skip


def test_live_appeals_survive_a_sigkill_and_equal_the_rebuild(
    worker_stack: WorkerStack, migrated_warehouse: ChdbWarehouse
) -> None:
    now = int(time.time() * 1000)
    start = now - 12 * DAY_MS  # relative to now: no dependence on the clock's date or hour
    events = week(start, seed=4, customers=60)
    expected = appeals_from_events(events, WINDOW)
    want_links = {cid: a.appeal_id for a in expected for cid in a.contact_ids}
    assert sum(a.contacts > 1 for a in expected) >= 10

    half = len(events) // 2
    worker = worker_stack.start_worker("first")
    worker_stack.produce(events[:half])
    assert wait_until(lambda: len(worker_stack.read("appeals")) > 20, 90), worker_stack.logs()
    worker.send_signal(signal.SIGKILL)  # mid-stream: uncommitted offsets, unflushed sends
    worker.wait(timeout=10)
    worker_stack.produce(events[half:] + events[half - 40:half])  # the rest, and redelivery
    worker_stack.start_worker("restarted")

    def links() -> dict[str, str]:
        return {cid: d["appeal_id"] for cid, (_, d) in _latest(worker_stack).items()}

    assert wait_until(lambda: links() == want_links, 120, 2), (
        {c: (links().get(c), a) for c, a in want_links.items() if links().get(c) != a},
        worker_stack.logs(),
    )
    latest = _latest(worker_stack)
    for a in expected:  # each appeal's latest update carries the core's figures
        d = latest[a.appeal_id][1]
        assert (d["contact_ids"], d["wait_ms"], d["resolved"], d["first_contact_resolution"]) \
            == (list(a.contact_ids), a.wait_ms, a.resolved, a.first_contact_resolution)

    # --- the sink writes events and appeal links; the reports' view reads them -----------
    topics = [worker_stack.topic("contact-events"), worker_stack.topic("appeals")]
    want_records = len(worker_stack.read("contact-events")) + len(worker_stack.read("appeals"))
    config = SinkConfig(worker_stack.bootstrap, topics, f"live-{topics[0]}",
                        BatchLimits(max_rows=5_000, max_age_s=0.2))  # fmt: skip
    sink, stop = Sink(migrated_warehouse, config), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: sink.stats.records >= want_records or not thread.is_alive(),
                          60)
        time.sleep(1.0)  # the last batch flushes
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    period = (start - DAY_MS, start + 60 * DAY_MS)  # the week and its repeats after it
    core = sorted((a.appeal_id, a.contacts, list(a.contact_ids), a.wait_ms, int(a.resolved),
                   int(a.first_contact_resolution), a.customer_category) for a in expected)
    stream = _figures(migrated_warehouse, *period)
    assert [tuple(r) for r in stream] == [tuple(r) for r in core]

    # --- the rebuild over the same events says the same --------------------------------------
    result = link_appeals(migrated_warehouse, Scope(tenant=TENANT), window_ms=WINDOW,
                          linked_at=now + 10 * SECOND_MS)
    assert result.appeals == len(expected)
    assert _figures(migrated_warehouse, *period) == stream
