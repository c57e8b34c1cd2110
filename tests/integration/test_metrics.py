"""Prometheus metrics and `kontakt status` on a real running stack: the session broker, `kontakt
setup`, `kontakt worker`, `kontakt api` (with the embedded sink) and `kontakt notifier` as
subprocesses, under load through the ingest API. Every counter of the platform's metrics must
have moved, scraped from the processes' own endpoints and parsed with prometheus_client's parser.

The load: a few hundred calls in batches; calls queued long enough ago to be warned and
breached; a breached call then found answered in time (a retraction); an undecodable record
(a dead letter); an event Kafka refuses as too large, the API's limit raised for it (a failed
publish, answered 503); alerts to a webhook that takes them and to one that refuses them (a
failed delivery).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.events import format_timestamp
from services.cli.status import Samples, parse
from tests.fixtures.board_stack import BoardStack, _kontakt, running_stack
from tests.fixtures.kafka import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

COUNTERS = [
    "kontakt_ingest_requests_total",
    "kontakt_ingest_events_produced_total",
    "kontakt_ingest_publish_failures_total",
    "kontakt_ingest_unavailable_total",
    "kontakt_sink_rows_inserted_total",
]
WORKER_COUNTERS = [
    "kontakt_worker_events_processed_total",
    "kontakt_worker_alerts_raised_total",
    "kontakt_worker_dead_letters_total",
]
NOTIFIER_COUNTERS = ["kontakt_notifier_deliveries_total", "kontakt_notifier_failures_total"]
HISTOGRAMS = {  # process -> histograms whose count must have moved
    "api": ["kontakt_ingest_request_duration_seconds", "kontakt_sink_batch_duration_seconds",
            "kontakt_sink_freshness_seconds"],
    "worker": ["kontakt_worker_batch_duration_seconds", "kontakt_worker_timer_delay_seconds"],
}
GAUGES = {
    "api": ["kontakt_sink_lag_events"],
    "worker": ["kontakt_worker_consumer_lag_events", "kontakt_worker_open_clocks"],
}
KINDS = {"warning", "breach", "retracted"}


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for lab, v in samples.get(name, [])
               if all(lab.get(k) == want for k, want in labels.items()))


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, response.text
    return parse(response.text)


@pytest.fixture
def hooks() -> Iterator[str]:
    """A webhook receiver: /ok takes every notification, /refuse answers 400 (not retried)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200 if self.path == "/ok" else 400)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def metrics_stack(kafka_bootstrap: str, tmp_path: Path, hooks: str) -> Iterator[BoardStack]:
    """board_stack's processes plus the notifier, each with a metrics port of its own."""
    rules = tmp_path / "rules.toml"
    every = 'severities = ["info", "warning", "high", "critical"]'
    rules.write_text(
        f'[[rules]]\nname = "ok"\n{every}\nwebhook = "{hooks}/ok"\nsecret = "s"\n\n'
        f'[[rules]]\nname = "refused"\n{every}\nwebhook = "{hooks}/refuse"\nsecret = "s"\n'
    )
    ports = {"worker": free_port(), "notifier": free_port()}
    extra = {
        "KONTAKT_WORKER_METRICS_PORT": str(ports["worker"]),
        "KONTAKT_NOTIFIER_METRICS_PORT": str(ports["notifier"]),
        "KONTAKT_SINK_METRICS_PORT": "0",
        "KONTAKT_NOTIFY_RULES": str(rules),
        "KONTAKT_SINK_BATCH_SECONDS": "0.3",
        # the API refuses an event over 1 MB with a 422; let one through to Kafka, which
        # refuses it: the only way to fail a publish with the broker up
        "KONTAKT_INGEST_MAX_EVENT_BYTES": "4000000",
    }
    with running_stack(kafka_bootstrap, tmp_path, extra) as stack:
        stack.start("notifier")  # stopped with the others by running_stack
        stack.env["METRICS_PORTS"] = f"{ports['worker']},{ports['notifier']}"
        yield stack


def call(contact_id: str, queued_ms: int, answered_ms: int | None = None) -> list[dict[str, Any]]:
    events = [{"event_id": f"{contact_id}-{etype}", "contact_id": contact_id,
               "region": "tver", "channel": "phone", "type": etype,
               "occurred_at": format_timestamp(queued_ms), "queue": "main"}
              for etype in ("received", "queued")]
    if answered_ms is not None:
        events.append({**events[0], "event_id": f"{contact_id}-answered", "type": "answered",
                       "occurred_at": format_timestamp(answered_ms)})
    return events


def post(stack: BoardStack, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/ingest/events/batch", json=events,
                      headers={"X-API-Key": stack.ingest_key}, timeout=30)


def test_every_counter_moves_under_load_and_status_shows_each_process(
    metrics_stack: BoardStack, kafka_bootstrap: str
) -> None:
    stack = metrics_stack
    worker_port, notifier_port = stack.env["METRICS_PORTS"].split(",")
    worker_url = f"http://127.0.0.1:{worker_port}/metrics"
    notifier_url = f"http://127.0.0.1:{notifier_port}/metrics"
    api_url = f"{stack.base_url}/metrics"
    now = int(time.time() * 1000)

    # load: 300 calls (900 events) answered in 10 s, in batches of 50 calls
    for b in range(6):
        batch = [e for i in range(50)
                 for e in call(f"ok-{b}-{i}", now - 15_000, now - 5_000)]
        assert post(stack, batch).status_code == 200
    # an undecodable record on the events topic: a dead letter
    from services.adapters.kafka_publisher import KafkaPublisher

    publisher = KafkaPublisher(kafka_bootstrap)
    try:
        publisher.publish(stack.topic("contact-events"), [(b"junk", b"not avro")], timeout_s=30)
    finally:
        publisher.close()
    # an event Kafka will not take (over the producer's 1 MB request size; the API's own
    # limit is raised above): 503
    huge = call("huge-1", now)[0]
    huge["attributes"] = {f"k{i}": "x" * 250 for i in range(6000)}
    refused = post(stack, [huge])
    assert refused.status_code == 503, refused.text

    # once the worker has caught up with the load (else the call below might be read after
    # its deadline and breached on reading, not by the timer): a call queued 25 s ago, warned
    # at once (threshold 0.5), then by the deadline timer (0.8, 0.9), breached 15 s later
    deadline = time.monotonic() + 90
    while total(scrape(worker_url), "kontakt_worker_events_processed_total") < 901:
        assert time.monotonic() < deadline, f"the worker did not catch up\n{stack.log_tail()}"
        time.sleep(0.5)
    late = int(time.time() * 1000) - 25_000
    assert post(stack, call("late-1", late)).status_code == 200
    answered = False
    while True:
        worker = scrape(worker_url)
        if not answered and total(worker, "kontakt_worker_alerts_raised_total", kind="breach") \
                and total(worker, "kontakt_worker_timer_delay_seconds_count"):
            # the breached call was answered in time after all: read late, the breach retracted
            assert post(stack, call("late-1", late, late + 5_000)[2:]).status_code == 200
            answered = True
        notifier = scrape(notifier_url)
        api = scrape(api_url)
        moved = [n for n in COUNTERS if total(api, n) > 0]
        moved += [n for n in WORKER_COUNTERS if total(worker, n) > 0]
        moved += [n for n in NOTIFIER_COUNTERS if total(notifier, n) > 0]
        kinds = {lab["kind"] for lab, v in worker.get("kontakt_worker_alerts_raised_total", [])
                 if v > 0}
        if (len(moved) == len(COUNTERS + WORKER_COUNTERS + NOTIFIER_COUNTERS)
                and kinds == KINDS
                and total(worker, "kontakt_worker_timer_delay_seconds_count") > 0
                and total(api, "kontakt_sink_rows_inserted_total", table="events") >= 900):
            break
        if time.monotonic() > deadline:
            missing = sorted(set(COUNTERS + WORKER_COUNTERS + NOTIFIER_COUNTERS) - set(moved))
            timer = total(worker, "kontakt_worker_timer_delay_seconds_count")
            rows = total(api, "kontakt_sink_rows_inserted_total", table="events")
            pytest.fail(f"counters that did not move: {missing}; alert kinds {kinds}; "
                        f"deadlines fired {timer}; event rows inserted {rows}\n"
                        f"{stack.log_tail()}", pytrace=False)
        time.sleep(1)

    # the labels the dashboard reads
    assert total(api, "kontakt_ingest_requests_total", route="/ingest/events/batch",
                 status="200") >= 7
    assert total(api, "kontakt_ingest_requests_total", route="/ingest/events/batch",
                 status="503") == 1
    assert total(api, "kontakt_ingest_unavailable_total") == 1
    assert total(api, "kontakt_ingest_events_produced_total",
                 topic=stack.topic("contact-events")) >= 900
    assert total(worker, "kontakt_worker_events_processed_total") >= 903
    assert total(worker, "kontakt_worker_dead_letters_total") == 1
    for process, samples in (("api", api), ("worker", worker)):
        for name in HISTOGRAMS[process]:
            assert total(samples, f"{name}_count") > 0, name
        for name in GAUGES[process]:
            assert name in samples, name
    assert {lab["milestone"] for lab, _ in worker["kontakt_worker_open_clocks"]} >= {
        "phone.answer"}
    assert {lab["channel"] for lab, v in notifier["kontakt_notifier_failures_total"] if v} == {
        "webhook"}

    # kontakt status: one row per process, lag and last batch from their metrics
    status = subprocess.run(_kontakt("status"), env=stack.env, capture_output=True, text=True,
                            timeout=60, check=False)
    print(status.stdout)  # shown with -s: the table an on-call engineer sees
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines[2:] if line.strip()}
    assert set(rows) == {"api", "sink", "worker", "notifier"}, status.stdout
    assert "ok" in rows["api"] and "(in api)" in rows["sink"]
    assert "newest" in rows["sink"] and "s ago" in rows["sink"], status.stdout
    assert "ready" in rows["worker"] and "events" in rows["worker"], status.stdout
    assert "failed" in rows["notifier"] and "Traceback" not in status.stderr


def test_a_sink_of_its_own_serves_its_metrics_on_its_port(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """`kontakt sink` as its own process (as beside a ClickHouse server): rows, batches and
    freshness on KONTAKT_SINK_METRICS_PORT."""
    import os
    import uuid

    from schemas.codec import encode_event
    from schemas.events import Channel, ContactEvent, EventType
    from services.adapters.kafka_publisher import KafkaPublisher
    from tests.fixtures.board_stack import stop_group

    prefix = f"sink{uuid.uuid4().hex[:8]}."
    port = free_port()
    env = {**os.environ, "KONTAKT_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "KONTAKT_TOPIC_PREFIX": prefix, "KONTAKT_TOPIC_PARTITIONS": "2",
           "KONTAKT_DATA_DIR": str(tmp_path / "kontakt"), "KONTAKT_SINK_METRICS_PORT": str(port),
           "KONTAKT_SINK_BATCH_SECONDS": "0.3"}
    setup = subprocess.run(_kontakt("setup"), env=env, capture_output=True, text=True,
                           timeout=180, check=False)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    now = int(time.time() * 1000)
    events = [ContactEvent(f"s{i}", f"c{i}", "mrsk-center", "tver", Channel.PHONE,
                           EventType.QUEUED, now - 1_000) for i in range(50)]
    publisher = KafkaPublisher(kafka_bootstrap)
    try:
        publisher.publish(f"{prefix}contact-events",
                          [(e.contact_id.encode(), encode_event(e)) for e in events],
                          timeout_s=30)
    finally:
        publisher.close()
    log = (tmp_path / "sink.log").open("wb")
    proc = subprocess.Popen(_kontakt("sink"), env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        samples: Samples = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "sink.log").read_text()
            try:
                samples = scrape(f"http://127.0.0.1:{port}/metrics")
            except (httpx.HTTPError, AssertionError):
                samples = {}
            if total(samples, "kontakt_sink_rows_inserted_total", table="events") >= 50:
                break
            time.sleep(0.5)
        assert total(samples, "kontakt_sink_rows_inserted_total", table="events") == 50, (
            tmp_path / "sink.log").read_text()
        assert total(samples, "kontakt_sink_batch_duration_seconds_count") >= 1
        assert total(samples, "kontakt_sink_freshness_seconds_count") >= 1
        newest = total(samples, "kontakt_sink_newest_event_timestamp_seconds")
        assert abs(newest - time.time()) < 60  # the records' Kafka timestamps: just produced
    finally:
        stop_group(proc)
        log.close()
