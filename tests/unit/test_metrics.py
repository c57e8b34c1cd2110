"""The metrics modules without a running stack: what each counts, from fixed instants.

The Prometheus registry is one per process, so each test compares values before and after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from schemas.events import Channel, ContactEvent, EventType
from services.cli import status
from services.metrics import notifier as notifier_metrics
from services.metrics import sink as sink_metrics
from services.metrics.ingest import IngestMetricsMiddleware
from streams.metrics import WorkerMetrics
from streams.processor import ContactProcessor
from streams.sla.policy import load_policy
from streams.timers import DeadlineHeap

T0 = 1_795_000_020_000


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ev(n: int, etype: EventType, offset_ms: int, contact: str = "c1") -> ContactEvent:
    return ContactEvent(f"{contact}-{n}", contact, "t", "kursk", Channel.PHONE, etype,
                        T0 + offset_ms)


def test_worker_tallies_reach_the_counters_only_when_flushed() -> None:
    before = {k: value("kontakt_worker_alerts_raised_total", kind=k)
              for k in ("warning", "breach", "retracted")}
    events = value("kontakt_worker_events_processed_total")
    dead = value("kontakt_worker_dead_letters_total")
    tally = WorkerMetrics()
    for alert in ("warning", "warning", "breached", "met", "cancelled"):
        tally.alert({"alert": alert}, retraction=False)
    tally.alert({"alert_id": "x"}, retraction=True)
    tally.dead_letters += 2
    assert value("kontakt_worker_alerts_raised_total", kind="warning") == before["warning"]
    tally.batch(500, 0.02, T0 / 1000)
    after = {k: value("kontakt_worker_alerts_raised_total", kind=k) - before[k]
             for k in before}
    assert after == {"warning": 2, "breach": 1, "retracted": 1}  # met, cancelled: not counted
    assert value("kontakt_worker_events_processed_total") - events == 500
    assert value("kontakt_worker_dead_letters_total") - dead == 2
    assert value("kontakt_worker_last_batch_timestamp_seconds") == T0 / 1000
    tally.batch(10, 0.01, T0 / 1000 + 1)  # flushed tallies are not counted twice
    assert value("kontakt_worker_alerts_raised_total", kind="warning") - before["warning"] == 2


def test_timer_delays_and_lag_and_open_clocks() -> None:
    count = value("kontakt_worker_timer_delay_seconds_count")
    total = value("kontakt_worker_timer_delay_seconds_sum")
    tally = WorkerMetrics()
    tally.timer_fired([50, 250, -5])  # a negative delay (clock step) counts as 0
    assert value("kontakt_worker_timer_delay_seconds_count") - count == 3
    assert abs(value("kontakt_worker_timer_delay_seconds_sum") - total - 0.3) < 1e-9
    tally.lag({0: 7, 1: -1})
    assert value("kontakt_worker_consumer_lag_events", partition="0") == 7
    assert value("kontakt_worker_consumer_lag_events", partition="1") == 0
    tally.open_clocks({"unit.a": 3})
    tally.open_clocks({})  # its last clock closed: the gauge says 0, not its old value
    assert value("kontakt_worker_open_clocks", milestone="unit.a") == 0


def test_the_heap_tells_when_each_fired_contact_was_due() -> None:
    heap = DeadlineHeap()
    heap.schedule("a", T0, 0)
    heap.schedule("b", T0 + 100, 1)
    heap.schedule("c", T0 + 900, 1)
    instants: list[int] = []
    assert sorted(heap.pop_due(T0 + 500, None, instants)) == ["a", "b"]
    assert sorted(instants) == [T0, T0 + 100]


def test_the_processor_counts_open_clocks_per_milestone_and_again_on_rebuild() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    one, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    two, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0, "c2"), 0, 1, T0)
    assert proc.open_clocks == {"phone.answer": 2}
    one, _ = proc.on_event(one, ev(2, EventType.ANSWERED, 15_000), 0, 2, T0 + 15_000)
    assert proc.open_clocks == {"phone.answer": 1}
    for now in range(T0, T0 + 45_000, 1_000):  # c2 breaches: no longer open
        proc.on_timer(now, lambda c: None)
    assert proc.open_clocks == {"phone.answer": 0}
    fresh, _ = proc.on_event(None, ev(1, EventType.QUEUED, 45_000, "c3"), 0, 3, T0 + 45_000)
    assert one is not None and fresh is not None
    proc.rebuild([(b"c1", one), (b"c3", fresh)], T0 + 46_000)
    assert proc.open_clocks == {"phone.answer": 1}


def test_sink_counts_rows_per_table_and_freshness_of_the_oldest_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the newest-event gauge only moves forward, and an earlier test's sink (same process,
    # same registry) may have set it to the wall clock: start this one from nothing
    monkeypatch.setattr(sink_metrics, "_newest", [0.0])
    rows = value("kontakt_sink_rows_inserted_total", table="events")
    alerts = value("kontakt_sink_rows_inserted_total", table="alerts")
    fresh = value("kontakt_sink_freshness_seconds_sum")
    batches = value("kontakt_sink_batch_duration_seconds_count")
    now_s = T0 / 1000 + 10
    sink_metrics.batch_written({"events": 120, "alerts": 0}, 0.05, T0 - 2_000, T0, now_s)
    assert value("kontakt_sink_rows_inserted_total", table="events") - rows == 120
    assert value("kontakt_sink_rows_inserted_total", table="alerts") == alerts
    assert abs(value("kontakt_sink_freshness_seconds_sum") - fresh - 12.0) < 1e-6
    assert value("kontakt_sink_batch_duration_seconds_count") - batches == 1
    assert value("kontakt_sink_newest_event_timestamp_seconds") == T0 / 1000
    sink_metrics.batch_written({}, 0.01, T0 - 9_000, T0 - 8_000, now_s)  # a redelivery
    assert value("kontakt_sink_newest_event_timestamp_seconds") == T0 / 1000
    sink_metrics.lag([(0, 5), (0, 3), (1, 0), (2, -4)])  # two topics' partition 0 summed
    assert [value("kontakt_sink_lag_events", partition=p) for p in "012"] == [8, 0, 0]


def test_ingest_requests_are_counted_by_route_template_and_503s_apart() -> None:
    app = FastAPI()
    app.add_middleware(IngestMetricsMiddleware)

    @app.post("/ingest/things/{thing}")
    def thing(thing: str) -> dict[str, str]:
        if thing == "busy":
            raise HTTPException(503, "busy")
        return {"thing": thing}

    @app.get("/elsewhere")
    def elsewhere() -> dict[str, str]:
        return {}

    route = "/ingest/things/{thing}"
    ok = value("kontakt_ingest_requests_total", route=route, status="200")
    busy = value("kontakt_ingest_requests_total", route=route, status="503")
    unmatched = value("kontakt_ingest_requests_total", route="unmatched", status="404")
    unavailable = value("kontakt_ingest_unavailable_total")
    timed = value("kontakt_ingest_request_duration_seconds_count", route=route)
    client = TestClient(app)
    assert client.post("/ingest/things/a").status_code == 200
    assert client.post("/ingest/things/b").status_code == 200
    assert client.post("/ingest/things/busy").status_code == 503
    assert client.get("/ingest/no/such/path").status_code == 404
    assert client.get("/elsewhere").status_code == 200  # not ingest: not counted
    assert value("kontakt_ingest_requests_total", route=route, status="200") - ok == 2
    assert value("kontakt_ingest_requests_total", route=route, status="503") - busy == 1
    assert value("kontakt_ingest_requests_total", route="unmatched", status="404") \
        - unmatched == 1
    assert value("kontakt_ingest_unavailable_total") - unavailable == 1
    assert value("kontakt_ingest_request_duration_seconds_count", route=route) - timed == 3
    assert value("kontakt_ingest_requests_total", route="/elsewhere", status="200") == 0


def test_notifier_counts_sent_and_failed_per_channel_not_quiet() -> None:
    sent = value("kontakt_notifier_deliveries_total", channel="email")
    failed = value("kontakt_notifier_failures_total", channel="webhook")
    webhook_sent = value("kontakt_notifier_deliveries_total", channel="webhook")
    notifier_metrics.count([("r1", "email", "sent"), ("r2", "webhook", "failed"),
                            ("r3", "webhook", "quiet")])
    assert value("kontakt_notifier_deliveries_total", channel="email") - sent == 1
    assert value("kontakt_notifier_failures_total", channel="webhook") - failed == 1
    assert value("kontakt_notifier_deliveries_total", channel="webhook") == webhook_sent


def test_status_rows_from_scraped_text() -> None:
    text = ("# TYPE kontakt_sink_lag_events gauge\n"
            'kontakt_sink_lag_events{partition="0"} 4\n'
            'kontakt_sink_lag_events{partition="1"} 6\n'
            "# TYPE kontakt_sink_newest_event_timestamp_seconds gauge\n"
            "kontakt_sink_newest_event_timestamp_seconds 1000\n"
            "# TYPE kontakt_sink_last_batch_timestamp_seconds gauge\n"
            "kontakt_sink_last_batch_timestamp_seconds 1009.5\n")
    row = status.sink_row("sink", status.parse(text), 1010.0, "42")
    assert (row.lag, row.last_batch, row.freshness) == ("10 events", "0.5 s ago",
                                                        "newest 10.0 s ago")
    assert status.sink_row("sink", None, 1010.0, "-").health == "no metrics"
    table = status.render([row]).splitlines()
    assert table[0].split()[:3] == ["process", "pid", "health"]
    assert table[1].split()[:2] == ["sink", "42"]


def test_status_says_nothing_runs_with_exit_1_and_no_traceback(tmp_path: Path) -> None:
    from tests.fixtures.kafka import free_port

    env = {"KONTAKT_DATA_DIR": str(tmp_path), "KONTAKT_API_PORT": str(free_port()),
           "KONTAKT_WORKER_METRICS_PORT": str(free_port()),
           "KONTAKT_SINK_METRICS_PORT": str(free_port()), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run([sys.executable, "-m", "services.cli.main", "status"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing of the platform runs" in done.stderr and "kontakt up" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_every_dashboard_metric_is_defined_with_its_kind_and_labels() -> None:
    """services/metrics_names.py is what the dashboards query: each name is defined by the
    metrics modules, with that kind and exactly those labels."""
    from prometheus_client.metrics import MetricWrapperBase

    import services.metrics.ingest
    import services.metrics.notifier
    import services.metrics.sink
    import streams.metrics
    from services.metrics_names import METRICS

    defined = {}
    for module in (services.metrics.ingest, services.metrics.notifier, services.metrics.sink,
                   streams.metrics):
        for obj in vars(module).values():
            if isinstance(obj, MetricWrapperBase):
                name = obj._name + ("_total" if obj._type == "counter" else "")
                assert name not in defined, f"{name} defined twice"
                defined[name] = (obj._type, tuple(obj._labelnames))
    for metric in METRICS:
        assert defined.get(metric.name) == (metric.kind, metric.labels), metric.name
