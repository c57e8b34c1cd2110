"""The faust glue on faust's in-memory test context (no broker): memory store, sends recorded."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import decode, encode_event
from schemas.events import Channel, ContactEvent, EventType
from services.settings import load_settings
from streams.agents import (
    fire_deadlines,
    now_ms,
    observe_storm,
    publish_metrics,
    raise_storms,
    report_rebalance,
    report_tick,
)
from streams.app import broker_url, create_worker
from streams.outbox import OutRecord
from streams.processor import decode_value
from streams.step_log import kept_record
from streams.worker import Worker

AVRO_TOPICS = {"outcomes", "alerts", "metrics"}

T0 = 1_795_000_020_000
_ids = itertools.count()


def make_worker(judge_by_log: bool = False) -> tuple[Worker, list[tuple[str, bytes, Any, Any]]]:
    """A worker on faust's test context. No broker, so no read watermark: unless a test asks
    for it, deadlines are judged by the wall clock (test_judgement_* below do the rest)."""
    n = next(_ids)
    settings = load_settings(topic_prefix=f"unit{n}.", worker_app_id=f"unit-worker-{n}",
                             worker_judge_by_log=judge_by_log)
    worker = create_worker(settings, store="memory://")
    sent: list[tuple[str, bytes, Any, Any]] = []

    async def record(records: list[OutRecord]) -> None:
        for r in records:  # topic without the test's prefix; Avro values decoded
            if r.topic.endswith("-changelog"):
                continue  # table writes: test_a_batch_writes_each_contact_once looks at them
            if r.topic.endswith((".appeal-events", ".appeals")):
                continue  # live appeals: tests/unit/test_appeal_stream.py
            topic = r.topic.split(".", 1)[1] if "." in r.topic else r.topic
            value = decode(r.value) if topic in AVRO_TOPICS and r.value else r.value
            sent.append((topic, r.key, value, r.headers))

    worker.sender = record
    return worker, sent


def event(n: int, etype: EventType, offset_ms: int) -> ContactEvent:
    return ContactEvent(f"e{n}", "c1", "t", "kursk", Channel.PHONE, etype, T0 + offset_ms)


def test_broker_url_lists_every_bootstrap_server() -> None:
    assert broker_url("a:1, b:2") == "kafka://a:1;kafka://b:2"


def test_factory_builds_independent_apps_from_settings() -> None:
    first, _ = make_worker()
    second, _ = make_worker()
    assert first.app is not second.app
    assert first.events.get_topic_name() != second.events.get_topic_name()
    assert first.app.conf.store.scheme == "memory"
    assert first.app.agents["contact-events"].concurrency == 1


def test_events_update_the_table_and_emit_outcomes_and_alerts() -> None:
    worker, sent = make_worker()

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            await ctx.put(encode_event(event(1, EventType.QUEUED, 0)), key=b"c1")
            await ctx.put(encode_event(event(2, EventType.ANSWERED, 60_000)), key=b"c1")
            await ctx.put(encode_event(event(2, EventType.ANSWERED, 60_000)), key=b"c1")

    asyncio.run(run())
    assert worker.contacts.get(b"c1") is not None
    topics = [s[0] for s in sent]
    assert topics == ["outcomes", "alerts", "outcomes"]  # breached at once (old call), then
    alert = sent[1][2]
    assert alert[0] == "SlaAlertRaised" and alert[1]["alert"] == "breached"
    assert sent[2][2][1]["stopped_at"] == T0 + 60_000  # ...answered late: still breached


def test_garbage_goes_to_the_dead_letter_topic_and_the_stream_goes_on() -> None:
    worker, sent = make_worker()

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            await ctx.put(b"\x00not avro", key=b"junk")
            await ctx.put(encode_event(event(1, EventType.QUEUED, 0)), key=b"c1")

    asyncio.run(run())
    dead = [s for s in sent if s[0] == "dead-letters"]
    assert len(dead) == 1
    assert dead[0][1] == b"junk" and dead[0][2] == b"\x00not avro"
    headers = dict(dead[0][3])
    assert headers["reason"].startswith(b"undecodable:")
    assert "outcomes" in [s[0] for s in sent]


@pytest.mark.parametrize("timer", [fire_deadlines, publish_metrics])
def test_timers_wait_for_recovery_before_acting(timer: Any) -> None:
    worker, sent = make_worker()
    queued_at = now_ms() - 50_000  # a call queued 50 s ago, seen by the worker back then
    late = ContactEvent("e1", "c1", "t", "kursk", Channel.PHONE, EventType.QUEUED, queued_at)
    worker.processor.on_event(None, late, 0, 0, queued_at)
    worker.ready = False
    asyncio.run(timer(worker))
    assert sent == []
    worker.ready = True
    asyncio.run(timer(worker))
    assert sent, f"{timer.__name__} sent nothing once ready"


def test_storm_counts_reach_the_detector_and_raise_an_alert() -> None:
    worker, sent = make_worker()
    minute = now_ms() - now_ms() % 60_000
    observe_storm(worker.storm, {"tenant": "mrsk", "region": "kursk", "minute": minute,
                                 "total": 50, "outage": 50})
    # counts an older worker wrote carry no tenant: they cannot be given to one, so they are
    # skipped instead of making a storm of nobody's calls
    observe_storm(worker.storm, {"region": "tver", "minute": minute, "total": 50, "outage": 50})
    asyncio.run(raise_storms(worker))
    assert [(s[0], s[1], s[2][0]) for s in sent] == [
        ("alerts", b"kursk", "OutageStormSuspected")]
    assert sent[0][2][1]["tenant"] == "mrsk"


def test_storm_counts_are_sent_per_tenant() -> None:
    worker, sent = make_worker()
    at = now_ms() - 30_000
    for tenant in ("mrsk", "tns"):
        call = ContactEvent(f"e-{tenant}", f"c-{tenant}", tenant, "kursk", Channel.PHONE,
                            EventType.QUEUED, at)
        worker.processor.on_event(None, call, 0, 0, at)
    worker.ready = True
    asyncio.run(publish_metrics(worker))
    counts = [json.loads(s[2]) for s in sent if s[0] == "storm-counts"]
    assert [(c["tenant"], c["region"], c["total"]) for c in counts] == [
        ("mrsk", "kursk", 1), ("tns", "kursk", 1)]


def test_a_batch_writes_each_contact_once_to_the_partition_of_its_events() -> None:
    worker, sent = make_worker()
    table = worker.contacts
    writes: list[tuple[int | None, bytes]] = []
    original = worker.sender
    changelog = table.changelog_topic.get_topic_name()

    async def spy(records: list[OutRecord]) -> None:
        writes.extend((r.partition, r.key or b"") for r in records if r.topic == changelog)
        assert original is not None
        await original([r for r in records if r.topic != changelog])

    worker.sender = spy
    c2 = [ContactEvent(f"f{n}", "c2", "t", "kursk", Channel.PHONE, etype, T0 + at)
          for n, (etype, at) in enumerate([(EventType.QUEUED, 0), (EventType.ANSWERED, 9_000)])]
    c1 = [event(1, EventType.QUEUED, 0), event(2, EventType.ANSWERED, 60_000)]
    batch = [(c1[0], 2), (c2[0], 1), (c1[1], 2), (c2[1], 1)]

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            for i, (e, partition) in enumerate(batch):
                await ctx.put(encode_event(e), key=e.contact_id.encode(), partition=partition,
                              wait=i == len(batch) - 1)

    asyncio.run(run())
    assert sorted(writes) == [(1, b"c2"), (2, b"c1")]  # one write per contact, its partition
    for key, n_events in ((b"c1", 2), (b"c2", 2)):
        value = decode_value(table.get(key))
        assert len(value.state.events) == n_events
        assert len(value.steps) == n_events  # one step per input offset, for redelivery
    assert [s[0] for s in sent if s[1] == b"c1"] == ["outcomes", "alerts", "outcomes"]
    # judged by the wall clock alone, each event on its own: queued long ago -> breached,
    # answered in 9 s -> met, and the breach retracted
    c2_alerts = [(s[2][0], s[2][1].get("alert")) for s in sent
                 if s[0] == "alerts" and s[1] == b"c2"]
    assert c2_alerts == [("SlaAlertRaised", "breached"), ("SlaAlertRaised", "met"),
                         ("SlaAlertRetracted", None)]


def test_retention_deletes_finished_old_contacts_with_a_tombstone_and_keeps_the_rest() -> None:
    from schemas.units import DAY_MS
    from streams.agents import sweep_contacts

    worker, sent = make_worker()
    table = worker.contacts
    changelog = table.changelog_topic.get_topic_name()
    tombstones: list[tuple[bytes | None, int | None]] = []
    original = worker.sender

    async def spy(records: list[OutRecord]) -> None:
        tombstones.extend((r.key, r.partition) for r in records
                          if r.topic == changelog and r.value is None)
        assert original is not None
        await original(records)

    worker.sender = spy
    now = now_ms()
    old, recent = now - 40 * DAY_MS, now - 10 * DAY_MS

    def call(cid: str, at: int, answered: bool = True) -> list[ContactEvent]:
        evs = [ContactEvent(f"{cid}-q", cid, "t", "kursk", Channel.PHONE, EventType.QUEUED, at)]
        if answered:
            evs.append(ContactEvent(f"{cid}-a", cid, "t", "kursk", Channel.PHONE,
                                    EventType.ANSWERED, at + 5_000))
        return evs

    def email(cid: str, at: int) -> ContactEvent:  # received a second ago: clocks open
        return ContactEvent(f"{cid}-r", cid, "t", "kursk", Channel.EMAIL, EventType.RECEIVED, at)

    events = [*call("done-old", old), *call("done-recent", recent), email("open", now - 1000),
              *call("breached-old", old, answered=False)]  # breached long ago: final too

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            for i, e in enumerate(events):
                await ctx.put(encode_event(e), key=e.contact_id.encode(), partition=3,
                              wait=i == len(events) - 1)

    asyncio.run(run())
    worker.ready = True
    asyncio.run(sweep_contacts(worker))
    assert sorted(tombstones) == [(b"breached-old", 3), (b"done-old", 3)]
    assert table.get(b"done-old") is None and table.get(b"breached-old") is None
    assert not worker.processor.is_cached("done-old")
    assert table.get(b"done-recent") is not None and table.get(b"open") is not None
    assert worker.sweep is None  # the pass over this small table is done
    asyncio.run(sweep_contacts(worker))  # a second pass finds nothing more
    assert len(tombstones) == 2


def test_the_worker_reports_ready_only_after_recovery_and_rebalance(tmp_path: Path) -> None:
    from faust.types import TP

    from services.readiness import Beacon, read_beats

    worker, _ = make_worker()
    report_tick(worker)  # no beacon (tests, bench): nothing to report, nothing fails
    report_rebalance(worker, set())
    worker.beacon = Beacon(tmp_path, "h", 1, time.time())
    worker.ready = False
    report_rebalance(worker, set())  # revoked: the first join (faust's timers not yet run)
    assert [(b.phase, b.last_tick) for b in read_beats(tmp_path)] == [("joining", None)]
    events = worker.events.get_topic_name()
    report_rebalance(worker, {TP(events, 0), TP(events, 1), TP("other", 0)})  # assigned
    assert [(b.phase, b.partitions) for b in read_beats(tmp_path)] == [("recovering", 2)]
    worker.ready = True
    worker.app.rebalancing = True  # heap rebuilt; faust still seeking the partitions
    report_tick(worker)
    assert [b.phase for b in read_beats(tmp_path)] == ["recovering"]
    worker.app.rebalancing = False
    report_tick(worker)
    [beat] = read_beats(tmp_path)
    assert beat.phase == "ready" and beat.last_tick is not None


def test_judgement_waits_for_the_log_to_be_read_up_to_the_deadline() -> None:
    """With the read watermark on: a call queued long ago and answered in 9 s is met at once,
    never breached; one answered after 60 s is breached at once (its stop is a fact); one not
    answered is breached only once the partition is known read up to its deadline."""
    worker, sent = make_worker(judge_by_log=True)
    events_topic = worker.events.get_topic_name()
    fetch: dict[tuple[str, int], tuple[int, int | None]] = {}
    worker.app.consumer.fetch_state = lambda: fetch  # type: ignore[attr-defined]
    slow = [event(1, EventType.QUEUED, 0), event(2, EventType.ANSWERED, 60_000)]
    quick = [ContactEvent(f"f{n}", "c2", "t", "kursk", Channel.PHONE, etype, T0 + at)
             for n, (etype, at) in enumerate([(EventType.QUEUED, 0), (EventType.ANSWERED, 9_000)])]
    waiting = ContactEvent("g0", "c3", "t", "kursk", Channel.PHONE, EventType.QUEUED, T0)
    batch = [slow[0], quick[0], waiting, slow[1], quick[1]]

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            for i, e in enumerate(batch):
                await ctx.put(encode_event(e), key=e.contact_id.encode(), partition=0,
                              wait=i == len(batch) - 1)
        worker.ready = True
        await fire_deadlines(worker)  # watermark unknown: nothing judged
        alerts = [(s[1], s[2][1].get("alert")) for s in sent if s[0] == "alerts"]
        assert sorted(alerts) == [(b"c1", "breached"), (b"c2", "met")]
        fetch[(events_topic, 0)] = (5, 4)  # offsets 0..4 handed over (and folded)...
        worker.watermarks.asked(0, now_ms(), 6)  # ...but the log holds one more
        await fire_deadlines(worker)
        assert len([s for s in sent if s[0] == "alerts"]) == 2
        fetch[(events_topic, 0)] = (6, 5)  # offset 5 handed over, not folded yet
        await fire_deadlines(worker)
        assert len([s for s in sent if s[0] == "alerts"]) == 2
        worker.watermarks.processed(0, 5)  # folded: read up to where the log stood
        await fire_deadlines(worker)

    asyncio.run(run())
    alerts = [(s[1], s[2][0], s[2][1].get("alert")) for s in sent if s[0] == "alerts"]
    assert sorted(alerts)[-1] == (b"c3", "SlaAlertRaised", "breached")
    assert not any(name == "SlaAlertRetracted" for _, name, _ in alerts)


def test_the_timer_writes_the_table_before_it_sends_a_breach() -> None:
    """A breach must not reach the broker before the table value that records it (else a
    restarted worker cannot retract it): the changelog is sent, and acknowledged, first."""
    worker, _ = make_worker()
    order: list[str] = []
    changelog = worker.contacts.changelog_topic.get_topic_name()

    async def record(records: list[OutRecord]) -> None:
        for r in records:
            name = "changelog" if r.topic == changelog else r.topic.split(".", 1)[-1]
            if name == "alerts":
                name = decode(r.value)[1]["alert"] if r.value else name
            order.append(name)

    worker.sender = record
    queued_at = now_ms() - 50_000
    late = ContactEvent("e1", "c1", "t", "kursk", Channel.PHONE, EventType.QUEUED, queued_at)
    worker.processor.on_event(None, late, 0, 0, queued_at)
    worker.ready = True
    asyncio.run(fire_deadlines(worker))
    assert order[0] == "changelog" and "breached" in order, order
    stored = decode_value(worker.contacts.data[b"c1"])
    assert stored.signatures["phone.answer"][0] == "breached"
    assert "breached" in [kept_record(a)["alert"] for a in stored.pending[0]]


def test_the_consumer_reads_committed_and_holds_a_quiet_fetch_at_most_the_setting() -> None:
    """faust creates the consumer with fetch_max_wait_ms=1500; the worker's transport sets the
    setting's value (streams/transport.py: a fetch of quiet partitions holds back the rest)."""
    from services.settings import Settings
    from streams.transport import DEFAULT_FETCH_MAX_WAIT_MS

    assert Settings.model_fields["worker_fetch_max_wait_ms"].default == DEFAULT_FETCH_MAX_WAIT_MS
    n = next(_ids)
    for wait in (DEFAULT_FETCH_MAX_WAIT_MS, 250):
        settings = load_settings(topic_prefix=f"unit{n}.", worker_app_id=f"unit-worker-{n}",
                                 worker_fetch_max_wait_ms=wait)
        worker = create_worker(settings, store="memory://")

        async def create(app: Any) -> Any:  # aiokafka wants a running loop; nothing connects
            return app.consumer._thread._create_consumer(asyncio.get_running_loop())

        consumer = asyncio.run(create(worker.app))
        assert (consumer._fetch_max_wait_ms, consumer._isolation_level) == (wait,
                                                                            "read_committed")
