"""Prometheus metrics of the stream worker (served by `kontakt worker` on its own port,
KONTAKT_WORKER_METRICS_PORT). Each name is defined here once.

The hot path adds to plain integers of a :class:`WorkerMetrics` (an alert, a dead letter) and
the Prometheus objects are touched once per batch or timer tick, not per event. A worker
without metrics has ``Worker.telemetry = None`` and pays nothing (bench/worker.py --compare-metrics
measures the difference). The open clocks per milestone are counted by the processor (a plain
dict, streams.processor) and copied into their gauge by the live-metrics timer."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("kontakt_worker_events_processed_total", "Input events folded.")
BATCH = Histogram("kontakt_worker_batch_duration_seconds",
                  "Time to fold a batch of events and hand its records to the producer (s).",
                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
LAG = Gauge("kontakt_worker_consumer_lag_events",
            "Events committed to the partition and not folded yet.", ["partition"])
OPEN_CLOCKS = Gauge("kontakt_worker_open_clocks", "SLA clocks open, per milestone.",
                    ["milestone"])
ALERTS = Counter("kontakt_worker_alerts_raised_total",
                 "SLA alerts emitted: warning, breach, retracted (a breach withdrawn).", ["kind"])
TIMER_DELAY = Histogram("kontakt_worker_timer_delay_seconds",
                        "A deadline fired this long after its scheduled instant (s).",
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
DEAD_LETTERS = Counter("kontakt_worker_dead_letters_total",
                       "Input events sent to the dead-letter topic.")
LAST_BATCH = Gauge("kontakt_worker_last_batch_timestamp_seconds",
                   "When the worker last folded a batch of events (epoch s).")
PID = Gauge("kontakt_worker_pid", "The worker's process id (`kontakt status` matches its "
            "readiness report to its metrics port by it).")

#: SlaAlertRaised.alert -> the kind label (met and cancelled alerts are not counted)
KINDS = {"warning": "warning", "breached": "breach"}


class WorkerMetrics:
    """Tallies of the current batch or tick, flushed into the Prometheus objects."""

    __slots__ = ("warning", "breach", "retracted", "dead_letters", "_milestones")

    def __init__(self) -> None:
        self.warning = self.breach = self.retracted = self.dead_letters = 0
        self._milestones: set[str] = set()
        PID.set(os.getpid())

    def alert(self, record: Mapping[str, Any], retraction: bool) -> None:
        if retraction:
            self.retracted += 1
            return
        kind = KINDS.get(record["alert"])
        if kind == "warning":
            self.warning += 1
        elif kind == "breach":
            self.breach += 1

    def flush(self) -> None:
        """Move the tallies into the counters."""
        for kind in ("warning", "breach", "retracted"):
            count = getattr(self, kind)
            if count:
                ALERTS.labels(kind).inc(count)
                setattr(self, kind, 0)
        if self.dead_letters:
            DEAD_LETTERS.inc(self.dead_letters)
            self.dead_letters = 0

    def batch(self, events: int, seconds: float, now_s: float) -> None:
        EVENTS.inc(events)
        BATCH.observe(seconds)
        LAST_BATCH.set(now_s)
        self.flush()

    def timer_fired(self, delays_ms: Iterable[int]) -> None:
        for delay in delays_ms:
            TIMER_DELAY.observe(max(0, delay) / 1000)
        self.flush()

    def lag(self, behind: Mapping[int, int]) -> None:
        for partition, count in behind.items():
            LAG.labels(str(partition)).set(max(0, count))

    def forget_lag(self) -> None:
        LAG.clear()

    def open_clocks(self, by_milestone: Mapping[str, int]) -> None:
        """Set the gauge per milestone; one that had clocks and has none now reads 0."""
        self._milestones.update(by_milestone)
        for milestone in self._milestones:
            OPEN_CLOCKS.labels(milestone).set(by_milestone.get(milestone, 0))
