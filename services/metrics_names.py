"""The Prometheus metrics every Kontakt process exports: one list, read by the dashboards' test
(tests/unit/test_dashboards.py checks every PromQL expression in deploy/grafana/ names only
these) and meant to be imported by the modules that define the metrics, so a name lives here
once.

Histograms are exported by prometheus_client as ``<name>_bucket``, ``<name>_sum`` and
``<name>_count``; :func:`series_names` lists what a query may select.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricName:
    name: str
    kind: Kind
    labels: tuple[str, ...] = ()


METRICS: tuple[MetricName, ...] = (
    MetricName("kontakt_ingest_requests_total", "counter", ("route", "status")),
    MetricName("kontakt_ingest_request_duration_seconds", "histogram", ("route",)),
    MetricName("kontakt_ingest_events_produced_total", "counter", ("topic",)),
    MetricName("kontakt_ingest_publish_failures_total", "counter"),
    MetricName("kontakt_ingest_unavailable_total", "counter"),
    MetricName("kontakt_worker_events_processed_total", "counter"),
    MetricName("kontakt_worker_batch_duration_seconds", "histogram"),
    MetricName("kontakt_worker_consumer_lag_events", "gauge", ("partition",)),
    MetricName("kontakt_worker_open_clocks", "gauge", ("milestone",)),
    MetricName("kontakt_worker_alerts_raised_total", "counter", ("kind",)),
    MetricName("kontakt_worker_timer_delay_seconds", "histogram"),
    MetricName("kontakt_worker_dead_letters_total", "counter"),
    MetricName("kontakt_sink_rows_inserted_total", "counter", ("table",)),
    MetricName("kontakt_sink_batch_duration_seconds", "histogram"),
    MetricName("kontakt_sink_freshness_seconds", "histogram"),
    MetricName("kontakt_sink_lag_events", "gauge", ("partition",)),
    MetricName("kontakt_notifier_deliveries_total", "counter", ("channel",)),
    MetricName("kontakt_notifier_failures_total", "counter", ("channel",)),
)

#: Process -> the setting (services/settings.py) holding its /metrics port. The API serves
#: /metrics on its own port (api_port), its embedded sink thread included.
METRICS_PORT_SETTINGS: dict[str, str] = {
    "api": "api_port",
    "worker": "worker_metrics_port",
    "sink": "sink_metrics_port",
    "notifier": "notifier_metrics_port",
}


def series_names() -> frozenset[str]:
    """Every series name a PromQL query may select (histograms with their suffixes)."""
    names: set[str] = set()
    for metric in METRICS:
        names.add(metric.name)
        if metric.kind == "histogram":
            names.update(f"{metric.name}_{s}" for s in ("bucket", "sum", "count"))
    return frozenset(names)
