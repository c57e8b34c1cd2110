"""Metrics of the ClickHouse sink (in the API process or `kontakt sink`): rows per table, batch
durations, freshness and lag. Counted once per batch (and lag at most once a second), never per
record.

Freshness is the time from a record's Kafka timestamp (when ingest or the worker produced it)
to its batch being accepted by ClickHouse, observed once per batch for the batch's oldest
record: its worst. ``kontakt_sink_newest_event_timestamp_seconds`` and
``kontakt_sink_last_batch_timestamp_seconds`` are what `kontakt status` reads as the
warehouse's freshness and the sink's last batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import Counter, Gauge, Histogram

ROWS = Counter("kontakt_sink_rows_inserted_total", "Rows ClickHouse accepted.", ["table"])
BATCH = Histogram("kontakt_sink_batch_duration_seconds",
                  "Time to insert a batch into ClickHouse and commit its offsets (s).",
                  buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
FRESHNESS = Histogram("kontakt_sink_freshness_seconds",
                      "Kafka timestamp of a batch's oldest record -> the batch inserted (s).",
                      buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600))
LAG = Gauge("kontakt_sink_lag_events",
            "Records not yet read, summed over the sink's topics, per partition number.",
            ["partition"])
NEWEST = Gauge("kontakt_sink_newest_event_timestamp_seconds",
               "Kafka timestamp of the newest record in the warehouse (epoch s).")
LAST_BATCH = Gauge("kontakt_sink_last_batch_timestamp_seconds",
                   "When the sink last had a batch accepted (epoch s).")
_newest = [0.0]  # the gauge's value: it only moves forward (a redelivered batch is older)


def batch_written(written: Mapping[str, int], seconds: float, oldest_ms: int | None,
                  newest_ms: int | None, now_s: float) -> None:
    """One accepted batch: ``written`` rows per table, the insert took ``seconds``, its
    records' Kafka timestamps spanned ``oldest_ms``..``newest_ms``; ``now_s`` is epoch s."""
    for table, count in written.items():
        if count:
            ROWS.labels(table).inc(count)
    BATCH.observe(seconds)
    LAST_BATCH.set(now_s)
    if oldest_ms is not None:
        FRESHNESS.observe(max(0.0, now_s - oldest_ms / 1000))
    if newest_ms is not None and newest_ms / 1000 > _newest[0]:
        _newest[0] = newest_ms / 1000
        NEWEST.set(_newest[0])


def lag(by_partition: Iterable[tuple[int, int]]) -> None:
    """(partition, records behind) of each topic partition: summed per partition number."""
    sums: dict[int, int] = {}
    for partition, behind in by_partition:
        sums[partition] = sums.get(partition, 0) + max(0, behind)
    for partition, behind in sums.items():
        LAG.labels(str(partition)).set(behind)
