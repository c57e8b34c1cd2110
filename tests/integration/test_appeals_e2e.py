"""End to end on the real broker and warehouse: a customer calls twice about an outage (the
second call cut off first, then answered) and writes once. The events go through Kafka
(shuffled, partly redelivered) to the real `kontakt worker` and, through the sink, to ClickHouse;
`kontakt appeals link` (link_appeals) links them there. Three paths must agree:

* replay -- the pure core over the NDJSON lines of the same events;
* ClickHouse -- the appeal_figures view, whose waits are computed in SQL from the raw events;
* the stream -- the worker's phone.answer outcomes carry each call's queue wait (elapsed_ms),
  which must equal the core's queue wait of that call (and the outcomes the sink stored).
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time

import pytest

from schemas.events import Channel, ContactEvent, EventType, Kind, event_to_json, parse_timestamp
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.scope import Scope
from services.appeals.linking import link_appeals
from services.sink.batch import BatchLimits
from services.sink.runner import Sink, SinkConfig
from streams.sla.appeals import appeals_from_events, customer_time
from streams.sla.replay import load_events
from tests.fixtures.worker import WorkerStack, wait_until

pytestmark = pytest.mark.kafka

S, MIN, H, D = 1000, 60_000, 3_600_000, 86_400_000
T0 = parse_timestamp("2026-11-20T07:00:00Z")
WINDOW = 7 * D


def _story() -> list[ContactEvent]:
    base = ContactEvent(event_id="", contact_id="", tenant="mrsk", region="tver",
                        channel=Channel.PHONE, type=EventType.RECEIVED, occurred_at=T0,
                        kind=Kind.OUTAGE, topic="outage-tver-0417",
                        customer_ref="hmac-cust-17")  # fmt: skip
    plan = [
        ("call-1", Channel.PHONE, None, [("received", 0), ("queued", 10 * S),
                                         ("abandoned", 10 * S + 95 * S), ("closed", 106 * S)]),
        ("call-2", Channel.PHONE, None, [("received", 20 * MIN), ("queued", 20 * MIN + 5 * S),
                                         ("answered", 20 * MIN + 70 * S),
                                         ("closed", 25 * MIN)]),
        ("mail-1", Channel.EMAIL, "call-2", [("received", 3 * H), ("registered", 5 * H),
                                             ("classified", 5 * H), ("assigned", 6 * H),
                                             ("responded", 30 * H), ("resolved", 30 * H),
                                             ("closed", 31 * H)]),
    ]  # fmt: skip
    return [
        dataclasses.replace(base, event_id=f"{cid}-{etype}", contact_id=cid, channel=channel,
                            type=EventType(etype), occurred_at=T0 + offset, related_to=related)
        for cid, channel, related, steps in plan
        for etype, offset in steps
    ]


def _run_sink(warehouse: ChdbWarehouse, config: SinkConfig, want: int) -> None:
    sink, stop = Sink(warehouse, config), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: sink.stats.records >= want or not thread.is_alive(), 60)
        time.sleep(0.5)  # let the last batch flush
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and sink.stats.records >= want


def test_two_calls_and_a_letter_agree_across_replay_stream_and_clickhouse(
    worker_stack: WorkerStack, migrated_warehouse: ChdbWarehouse
) -> None:
    events = _story()
    delivered = events + events[::2]  # redelivery
    random.Random(3).shuffle(delivered)
    worker_stack.produce(delivered)
    worker_stack.start_worker()

    # --- replay: the pure core over NDJSON lines ------------------------------------------
    lines = [json.dumps(event_to_json(e)) for e in delivered]
    loaded = load_events(lines)
    (replayed,) = appeals_from_events([e for evs in loaded.events.values() for e in evs], WINDOW)
    waits = {cid: customer_time(evs).wait_ms for cid, evs in loaded.events.items()}
    assert replayed.contact_ids == ("call-1", "call-2", "mail-1")
    assert waits == {"call-1": 95 * S, "call-2": 65 * S, "mail-1": 27 * H}
    assert replayed.wait_ms == 95 * S + 65 * S + 27 * H
    assert not replayed.first_contact_resolution and replayed.resolved

    # --- the stream: the worker's phone.answer outcomes ------------------------------------
    def phone_outcomes() -> dict[str, dict[str, object]]:
        return {d["contact_id"]: d for name, d in worker_stack.decoded("outcomes")
                if name == "MilestoneOutcomeEvaluated" and d["milestone"] == "phone.answer"
                and d["status"] in ("met", "breached", "cancelled")}  # fmt: skip

    assert wait_until(lambda: set(phone_outcomes()) == {"call-1", "call-2"}, 90), \
        worker_stack.logs()
    stream = phone_outcomes()
    assert {cid: o["elapsed_ms"] for cid, o in stream.items()} == {
        "call-1": waits["call-1"], "call-2": waits["call-2"]}

    # --- ClickHouse: the sink stores events and outcomes; the projection links them ---------
    topics = [worker_stack.topic("contact-events"), worker_stack.topic("outcomes")]
    stored = len(delivered) + len(worker_stack.read("outcomes"))
    config = SinkConfig(worker_stack.bootstrap, topics, f"appeals-{topics[0]}",
                        BatchLimits(max_rows=1_000, max_age_s=0.2))  # fmt: skip
    _run_sink(migrated_warehouse, config, stored)
    result = link_appeals(migrated_warehouse, Scope(tenant="mrsk"), window_ms=WINDOW,
                          linked_at=T0 + 2 * D)  # fmt: skip
    assert (result.contacts, result.appeals, result.repeat_appeals) == (3, 1, 1)
    rows = migrated_warehouse.query(
        "SELECT appeal_id, contacts, contact_ids, wait_ms, resolved, first_contact_resolution "
        "FROM appeal_figures(tenant = 'mrsk', start = '2026-11-01 00:00:00', "
        "end = '2026-12-01 00:00:00')")
    assert rows == [("call-1", 3, ["call-1", "call-2", "mail-1"], replayed.wait_ms, 1, 0)]
    per_contact = migrated_warehouse.query(
        "SELECT contact_id, wait_ms FROM contact_customer_time(tenant = 'mrsk', "
        "start = '2026-11-01 00:00:00', end = '2026-12-01 00:00:00') ORDER BY contact_id")
    assert dict(per_contact) == waits
    sunk = migrated_warehouse.query(
        "SELECT contact_id, argMax(elapsed_ms, evaluated_at) FROM outcomes "
        "WHERE milestone = 'phone.answer' GROUP BY contact_id ORDER BY contact_id")
    assert dict(sunk) == {"call-1": waits["call-1"], "call-2": waits["call-2"]}
