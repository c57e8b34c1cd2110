"""bench/perf_doc.py: headline numbers from a benchmark's output, and the performance doc that
must show a failed benchmark as failed (never drop it) and a missed goal as missed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from perf_doc import Bench, Headline, Outcome, parse_headlines, render  # noqa: E402

SINK_TABLE = """
100,000 contact events, batches of 50,000 rows, 3 partitions
method                                                         rows/s  sink / this
sink, Kafka -> chdb, encoded (Avro containers)                 61,234         0.41
raw chdb insert: same Avro bodies as containers               150,000         1.00
freshness (produced -> visible), 15,000 events at 1000/s, batch limit 1 s:
  p50 1,234 ms   p95 6,345 ms   p99 7,000 ms   max 8,000 ms   mean 1,200 ms
"""
BENCH = Bench("sink", "Sink", ("100000",), 60, (
    Headline("sink", "sink_rows_per_s", "rows/s", "raw insert", "raw_insert_rows_per_s",
             ratio_goal=0.5),
    Headline("freshness p95", "freshness_p95_ms", "ms", goal=("<=", 5_000)),
))


def test_table_rows_give_the_headlines_when_there_is_no_result_line() -> None:
    assert parse_headlines("sink", SINK_TABLE) == {
        "sink_rows_per_s": 61_234.0, "raw_insert_rows_per_s": 150_000.0,
        "freshness_p95_ms": 6_345.0}


def test_the_result_line_wins_and_nan_counts_as_missing() -> None:
    out = ("breach latency p99 (s)   0.800\n"
           'RESULT {"breach_p99_s": 0.9, "breach_p50_s": NaN, "bench": "worker"}\n')
    assert parse_headlines("worker", out) == {"breach_p99_s": 0.9}


def test_missed_goals_and_failures_are_in_the_document() -> None:
    ran = Outcome(BENCH, 0, 12.0, SINK_TABLE, "", parse_headlines("sink", SINK_TABLE), 1.0)
    failed = Outcome(Bench("queries", "Q", (), 60, (Headline("q", "q_ms", "ms",
                                                             goal=("<=", 300)),)),
                     1, 3.0, "", "Traceback\nValueError: boom", {}, 1.0)
    doc = render([ran, failed], {"cores": "2"}, 15.0, "shared machine", partial=False)
    row = "| sink | sink | 61,234 rows/s | 150,000 (raw insert) | 0.408 | ratio >= 0.5 | **no** |"
    assert row in doc
    assert "| sink | freshness p95 | 6,345 ms | - | - | <= 5,000 ms | **no** |" in doc
    assert "| queries | q | - | - | - | <= 300 ms | **failed** |" in doc
    assert "**FAILED: exit code 1**" in doc and "ValueError: boom" in doc
    assert "**Failed:** queries" in doc
