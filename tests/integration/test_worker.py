"""`kontakt worker` against the real broker: timeliness, poison messages, stream = replay, crash.

Each test runs real worker subprocesses (tests/fixtures/worker.py) on topics of its own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.events import (
    Channel,
    ContactEvent,
    EventType,
    Kind,
    event_to_json,
    format_timestamp,
)
from streams.emissions import alert_id
from tests.fixtures.worker import WorkerStack, wait_until
from tests.integration.worker_day import DAY, simulated_day, write_combined_policy

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def now_ms() -> int:
    return int(time.time() * 1000)


def alerts_of(stack: WorkerStack, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        d
        for name, d in stack.decoded("alerts")
        if name == "SlaAlertRaised" and (kind is None or d["alert"] == kind)
    ]


def final_outcomes(stack: WorkerStack) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The last outcome per (contact, milestone) on the outcomes topic (ordered per key)."""
    last: dict[tuple[str, str], tuple[Any, ...]] = {}
    for name, d in stack.decoded("outcomes"):
        assert name == "MilestoneOutcomeEvaluated"
        last[(d["contact_id"], d["milestone"])] = (
            d["status"],
            d["started_at"],
            d["due_at"],
            d["stopped_at"],
        )
    return last


def replay_outcomes(
    events: list[ContactEvent], policy: Path, as_of: int, tmp: Path
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """`kontakt sla evaluate` over the same events (the CLI, not the worker's code path)."""
    from schemas.events import parse_timestamp

    ndjson = tmp / "day.ndjson"
    ndjson.write_bytes(b"".join(orjson.dumps(event_to_json(e)) + b"\n" for e in events))
    kontakt = Path(sys.executable).parent / "kontakt"
    done = subprocess.run(
        [
            str(kontakt),
            "sla",
            "evaluate",
            "--policy",
            str(policy),
            "--as-of",
            format_timestamp(as_of),
            "--input",
            str(ndjson),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    out = {}
    for line in done.stdout.splitlines():
        row = orjson.loads(line)
        stamps = [
            None if row[k] is None else parse_timestamp(row[k])
            for k in ("started_at", "due_at", "stopped_at")
        ]
        out[(row["contact_id"], row["milestone"])] = (row["status"], *stamps)
    return out


def test_unanswered_call_breaches_within_a_second_of_its_deadline(
    worker_stack: WorkerStack,
) -> None:
    worker_stack.start_worker()
    warm = ContactEvent("warm-1", "warm", "t", "kursk", Channel.PHONE, EventType.QUEUED, now_ms())
    worker_stack.produce([warm])  # wait until the worker is up and processing
    assert wait_until(lambda: len(worker_stack.read("outcomes")) >= 1, 60), worker_stack.logs()
    queued_at = now_ms()
    call = ContactEvent("call-1", "call", "t", "tver", Channel.PHONE, EventType.QUEUED, queued_at)
    worker_stack.produce([call])
    due = queued_at + 40_000

    def breach() -> dict[str, Any] | None:
        found = [a for a in alerts_of(worker_stack, "breached") if a["contact_id"] == "call"]
        return found[0] if found else None

    assert wait_until(lambda: breach() is not None, 60, 0.2), worker_stack.logs()
    record = [r for r in worker_stack.read("alerts") if r.key == b"call" and b"breached" in r.value]
    alert = breach()
    assert alert is not None
    # raised_at is the worker's clock; the record timestamp is the broker's append time.
    assert 0 < alert["raised_at"] - due <= 1_000, alert["raised_at"] - due
    assert record[0].timestamp_ms - due <= 1_500
    warnings = [
        a["threshold"] for a in alerts_of(worker_stack, "warning") if a["contact_id"] == "call"
    ]
    assert warnings == [0.5, 0.8, 0.9]


def test_garbage_goes_to_dead_letters_and_good_events_follow(worker_stack: WorkerStack) -> None:
    worker_stack.start_worker()
    good = ContactEvent("g-1", "good", "t", "kursk", Channel.PHONE, EventType.QUEUED, now_ms())
    worker_stack.produce([], raw=[(b"poison", b"\xc3\x01 definitely not avro")])
    worker_stack.produce([good])
    assert wait_until(lambda: len(worker_stack.read("dead-letters")) >= 1, 60), worker_stack.logs()
    dead = worker_stack.read("dead-letters")
    assert dead[0].key == b"poison" and dead[0].value == b"\xc3\x01 definitely not avro"
    headers = dict(dead[0].headers)
    assert headers["reason"].startswith(b"undecodable")
    assert headers["source-topic"] == worker_stack.topic("contact-events").encode()
    assert wait_until(
        lambda: any(d["contact_id"] == "good" for _, d in worker_stack.decoded("outcomes")), 30
    )
    proc = worker_stack.processes[0]
    began = time.monotonic()
    assert worker_stack.stop(proc, signal.SIGTERM) == 0, worker_stack.logs()
    assert time.monotonic() - began < 30


def test_events_of_an_aborted_ingest_transaction_are_never_folded(
    worker_stack: WorkerStack,
) -> None:
    """The ingest API aborts the transaction of a request that failed (its client got a 503):
    the worker reads read_committed, so those events never reach a contact's state."""
    from kafka import KafkaProducer

    from schemas.codec import encode_event

    topic = worker_stack.topic(worker_stack.settings.events_topic)
    long_ago = now_ms() - 120_000  # a queued call this old would breach at once

    def call(cid: str) -> ContactEvent:
        return ContactEvent(f"{cid}-q", cid, "t", "kursk", Channel.PHONE, EventType.QUEUED,
                            long_ago)

    producer = KafkaProducer(bootstrap_servers=worker_stack.bootstrap,
                             transactional_id=f"{topic}-ingest-test", acks="all")
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(topic, encode_event(call("ghost")), key=b"ghost", partition=0).get(10)
        producer.abort_transaction()
        producer.begin_transaction()  # the same partition, after the aborted one
        producer.send(topic, encode_event(call("real")), key=b"real", partition=0).get(10)
        producer.commit_transaction()
    finally:
        producer.close(timeout=5)
    worker_stack.start_worker()

    def contacts() -> set[str]:
        return {d["contact_id"] for _, d in worker_stack.decoded("outcomes")}

    def breached() -> set[str]:
        return {a["contact_id"] for a in alerts_of(worker_stack, "breached")}

    assert wait_until(lambda: "real" in contacts(), 60), worker_stack.logs()
    # the breach is raised once the partition is judged (its read watermark reaches the log's
    # end, past the transaction markers), which can come a few ticks after the outcome: wait
    assert wait_until(lambda: "real" in breached(), 60), worker_stack.logs()
    assert "ghost" not in contacts()
    assert {a["contact_id"] for a in alerts_of(worker_stack)} == {"real"}


def test_retention_deletes_a_finished_contact_for_good(
    worker_stack: WorkerStack, tmp_path: Path
) -> None:
    """A finished contact past the retention leaves the table with a changelog tombstone: a
    worker that recovers the table from the changelog alone (empty state dir) does not know it,
    so a new call on that contact id starts a fresh contact."""
    from services.adapters.kafka_reader import read_all

    worker_stack.env["KONTAKT_WORKER_RETENTION_DAYS"] = str(2 / 86_400)  # 2 s
    worker_stack.env["KONTAKT_WORKER_SWEEP_INTERVAL_S"] = "0.5"
    t = now_ms() - 60_000
    done = [ContactEvent("d-q", "done", "t", "kursk", Channel.PHONE, EventType.QUEUED, t),
            ContactEvent("d-a", "done", "t", "kursk", Channel.PHONE, EventType.ANSWERED,
                         t + 5_000)]
    still = ContactEvent("s-r", "still", "t", "kursk", Channel.EMAIL, EventType.RECEIVED, t)
    worker_stack.produce([*done, still])
    first = worker_stack.start_worker("first")
    changelog = f"{worker_stack.settings.worker_app_id}-contacts-changelog"

    def last_values() -> dict[bytes | None, bytes | None]:
        return {r.key: r.value for r in read_all(worker_stack.bootstrap, changelog)}

    assert wait_until(lambda: last_values().get(b"done", b"") is None, 60), worker_stack.logs()
    assert last_values()[b"still"] is not None  # its email clock is still running
    assert worker_stack.stop(first) == 0

    worker_stack.env["KONTAKT_DATA_DIR"] = str(tmp_path / "fresh")  # recover from Kafka only
    worker_stack.start_worker("recovered")
    again = now_ms()
    worker_stack.produce([ContactEvent("d-q2", "done", "t", "kursk", Channel.PHONE,
                                       EventType.QUEUED, again)])

    def restarted_at() -> set[int]:
        return {d["started_at"] for _, d in worker_stack.decoded("outcomes")
                if d["contact_id"] == "done"}

    assert wait_until(lambda: again in restarted_at(), 60), worker_stack.logs()


def test_live_metrics_and_an_outage_storm_reach_their_topics(worker_stack: WorkerStack) -> None:
    worker_stack.env["KONTAKT_WORKER_METRICS_INTERVAL_S"] = "1"
    worker_stack.start_worker()
    _away_from_local_midnight("bryansk", before_s=30, after_s=90)
    now = now_ms()
    calls = [ContactEvent(f"s{i}", f"storm{i}", "t", "bryansk", Channel.PHONE,
                          EventType.QUEUED, now - i * 1000, kind=Kind.OUTAGE)
             for i in range(25)]
    answers = [ContactEvent(f"s{i}-a", f"storm{i}", "t", "bryansk", Channel.PHONE,
                            EventType.ANSWERED, now + 500, kind=Kind.OUTAGE)
               for i in range(10)]
    # another tenant of the region with a few outage calls: counted apart, no storm of its own
    others = [ContactEvent(f"o{i}", f"other{i}", "u", "bryansk", Channel.PHONE,
                           EventType.QUEUED, now - i * 1000, kind=Kind.OUTAGE)
              for i in range(5)]
    worker_stack.produce(calls + answers + others)

    def storms() -> list[dict[str, Any]]:
        return [d for name, d in worker_stack.decoded("alerts") if name == "OutageStormSuspected"]

    assert wait_until(lambda: bool(storms()), 60), worker_stack.logs()
    storm = storms()[0]
    assert (storm["tenant"], storm["region"], storm["scope"], storm["count"]) == (
        "t", "bryansk", "outage", 25)
    assert {s["tenant"] for s in storms()} == {"t"}

    def today() -> dict[str, int]:
        latest: dict[tuple[int, str, str], dict[str, Any]] = {}
        for name, d in worker_stack.decoded("metrics"):
            if name == "MetricsSnapshotTaken" and d["window"] == "today":
                # records are in taken_at order
                latest[(d["partition"], d["tenant"], d["region"])] = d
        rows = [d for (_, tenant, region), d in latest.items() if (tenant, region) == (
            "t", "bryansk")]
        return {k: sum(d[k] for d in rows) for k in ("offered", "answered", "waiting")}

    assert wait_until(lambda: today() == {"offered": 25, "answered": 10, "waiting": 15}, 30), (
        today(), worker_stack.logs())


def _away_from_local_midnight(region: str, before_s: float, after_s: float) -> None:
    """Wait until the region's local day began more than ``before_s`` ago and ends more than
    ``after_s`` from now, so calls of the last ``before_s`` and the snapshots of the next
    ``after_s`` all fall in one "today", whatever hour the suite runs at."""
    from streams.live_metrics import local_day

    while True:
        now = now_ms()
        start, end = local_day(region, now)
        if end - now <= after_s * 1000:  # wait past midnight, and then ``before_s`` more
            time.sleep((end - now) / 1000 + before_s + 1)
        elif now - start <= before_s * 1000:
            time.sleep(before_s + 1 - (now - start) / 1000)
        else:
            return


def _day(stack: WorkerStack, tmp: Path, contacts: int = 400) -> tuple[list[ContactEvent], Path]:
    policy = write_combined_policy(tmp / "policy.toml")
    stack.env["KONTAKT_SLA_POLICY"] = str(policy)
    day_start = now_ms() - now_ms() % DAY - 3 * DAY
    return simulated_day(day_start, contacts=contacts), policy


def test_stream_equals_replay_over_a_simulated_day(
    worker_stack: WorkerStack, tmp_path: Path
) -> None:
    events, policy = _day(worker_stack, tmp_path)
    worker_stack.produce(events)
    worker_stack.start_worker("a")
    worker_stack.start_worker("b")  # two workers share the partitions
    expected = replay_outcomes(events, policy, now_ms(), tmp_path)
    assert {s for s, *_ in expected.values()} >= {"met", "breached", "cancelled", "open"}
    assert wait_until(lambda: final_outcomes(worker_stack) == expected, 90, 2), (
        _diff(final_outcomes(worker_stack), expected),
        worker_stack.logs(),
    )
    kinds = {a["alert"] for a in alerts_of(worker_stack)}
    assert kinds >= {"breached", "met", "cancelled"}
    milestones = {a["milestone"] for a in alerts_of(worker_stack, "breached")}
    assert milestones == {m for (_, m), v in expected.items() if v[0] == "breached"}


def test_sigkill_mid_day_loses_no_alert_and_invents_none(
    worker_stack: WorkerStack, tmp_path: Path
) -> None:
    # ~3,400 events. The kill comes right after a chunk was produced, while the worker is
    # still on it (its offsets are committed every second), and before the last quarter
    # exists, so the restarted worker has both unfinished and new input whatever its speed.
    events, policy = _day(worker_stack, tmp_path, contacts=1200)
    expected = replay_outcomes(events, policy, now_ms(), tmp_path)
    half, three_quarters = len(events) // 2, len(events) * 3 // 4
    worker = worker_stack.start_worker("first")
    worker_stack.produce(events[:half])
    assert wait_until(lambda: len(worker_stack.read("outcomes")) > 50, 60), worker_stack.logs()
    worker_stack.produce(events[half:three_quarters])
    worker.send_signal(signal.SIGKILL)  # mid-stream: uncommitted offsets, unflushed sends
    worker.wait(timeout=10)
    worker_stack.produce(events[three_quarters:])
    worker_stack.start_worker("restarted")
    assert wait_until(lambda: final_outcomes(worker_stack) == expected, 90, 2), (
        _diff(final_outcomes(worker_stack), expected),
        worker_stack.logs(),
    )
    crashed = {a["alert_id"]: a for a in alerts_of(worker_stack)}
    # Nothing lost: the alert of every clock's final status is there, with its one id.
    required = {alert_id(c, m, status, None) for (c, m), (status, *_) in expected.items()
                if status != "open"}
    assert required <= set(crashed), len(required - set(crashed))
    # Nothing invented: judged at the read watermark (issue 19), the stream raises a subset of
    # what judging every event by the wall clock alone raises (an uninterrupted run of the
    # same processor), up to warnings of clocks still open.
    reference = _reference_alerts(worker_stack, events)
    extra = [crashed[i] for i in set(crashed) - set(reference)]
    assert all(a["alert"] == "warning" and expected[(a["contact_id"], a["milestone"])][0]
               == "open" for a in extra), extra[:5]


def _reference_alerts(stack: WorkerStack, events: list[ContactEvent]) -> dict[str, Any]:
    from streams.processor import ContactProcessor
    from streams.sla.policy import load_policy

    policy = load_policy(stack.env["KONTAKT_SLA_POLICY"])
    proc = ContactProcessor(policy)
    stored: dict[str, bytes] = {}
    ids: dict[str, Any] = {}
    now = now_ms()
    for offset, e in enumerate(events):
        value, emission = proc.on_event(stored.get(e.contact_id), e, 0, offset, now)
        if value is not None:
            stored[e.contact_id] = value
        ids.update((a["alert_id"], a) for a in emission.alerts)
    for emission in proc.on_timer(now, stored.get):
        ids.update((a["alert_id"], a) for a in emission.alerts)
    return ids


def _diff(got: dict[Any, Any], want: dict[Any, Any]) -> list[Any]:
    keys = sorted(set(got) | set(want))
    return [(k, got.get(k), want.get(k)) for k in keys if got.get(k) != want.get(k)][:10]
