"""Run every benchmark of bench/ with sizes a 2-core machine finishes in under 15 minutes, and
write docs/performance.md: the machine, per benchmark the command, its table verbatim and its
wall time, and a summary of the headline figures (baseline from the same run, ratio) against
the goals of the issues.

Each script runs as a subprocess; its headline numbers come from its last ``RESULT {json}``
line, or, when a script has none, from the labelled rows of its table (bench/perf_doc.py). A
benchmark that fails or times out is reported as failed with its stderr tail, and this script
then exits 1: nothing is dropped silently. A missed goal is reported, not an error.

Run: bench/run_all [--only NAME,...] [--output docs/performance.md] [--note TEXT]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf_doc import (  # noqa: E402  (bench/ is not a package: scripts import siblings)
    Bench,
    Headline,
    Outcome,
    machine_facts,
    parse_headlines,
    render,
)

ROOT = Path(__file__).resolve().parents[1]

#: Order: cheap CPU-only first, then the broker-backed ones, the biggest data last.
BENCHES: tuple[Bench, ...] = (
    Bench("codec", "Avro codec encode/decode", ("50000",), 300, (
        Headline("encode", "codec_encode_per_s", "records/s", "raw fastavro writer",
                 "raw_encode_per_s"),
        Headline("decode", "codec_decode_per_s", "records/s", "raw fastavro reader",
                 "raw_decode_per_s"),
    )),
    Bench("board", "Live board fold + fan-out to 10 pages", ("100000",), 300, (
        Headline("board feed", "board_records_per_s", "records/s", "codec.decode only",
                 "decode_records_per_s"),
    )),
    Bench("replay", "SLA replay throughput", ("200000",), 420, (
        Headline("replay", "replay_events_per_s", "events/s", "orjson.loads per line",
                 "baseline_orjson_events_per_s", goal=(">=", 100_000)),
    )),
    Bench("simulate", "Simulator generation speed", ("3",), 420, (
        Headline("generate + NDJSON", "cli_events_per_cpu_s", "events/CPU-s",
                 "ndjson_line only", "baseline_events_per_cpu_s"),
    )),
    Bench("memory", "Worker memory at 1M open contacts", ("1000000",), 1200, (
        Headline("worker state", "worker_bytes_per_contact", "bytes/contact",
                 "dict of JSON bytes", "baseline_json_bytes_per_contact", goal=("<=", 600)),
    )),
    Bench("kafka_start", "Local broker start", ("--rounds", "1"), 300, (
        Headline("broker start (default)", "default_wall_s", "s", "JVM defaults, no CDS",
                 "baseline_wall_s"),
    )),
    Bench("ingest", "Ingest API vs raw producer", ("20000",), 420, (
        Headline("ingest API, 1 client", "api_1_events_per_s", "events/s", "raw producer",
                 "raw_producer_events_per_s"),
        Headline("ingest API, 2 clients", "api_2_events_per_s", "events/s", "raw producer",
                 "raw_producer_events_per_s"),
    )),
    Bench("worker", "Worker vs raw consumer, breach latency",
          ("--events", "50000", "--rate", "2000", "--duration", "60", "--compare-metrics",
           "--compare-judgement"),
          1200, (
        Headline("worker throughput", "worker_events_per_s", "events/s",
                 "aiokafka consume + decode", "raw_consumer_events_per_s",
                 goal=(">=", 10_000), ratio_goal=0.35),
        Headline("bare faust agent (framework ceiling)", "bare_faust_events_per_s", "events/s",
                 "aiokafka consume + decode", "raw_consumer_events_per_s"),
        Headline("worker throughput", "worker_events_per_s", "events/s",
                 "bare faust agent", "bare_faust_events_per_s"),
        Headline("worker CPU per event", "worker_cpu_us_per_event", "us"),
        Headline("sustained phase: events/s offered", "sustained_events_per_s", "events/s"),
        Headline("worker lag at the end of that phase", "lag_at_end", "events"),
        Headline("breach latency p50 at that rate", "breach_p50_s", "s"),
        Headline("breach latency p99 at that rate (after the backlog)", "breach_p99_s", "s",
                 goal=("<=", 1.0)),
        Headline("breach latency p99, a fresh worker judged against the log",
                 "fresh_log_breach_p99_s", "s", "the same, by the wall clock alone",
                 "fresh_wall_breach_p99_s", goal=("<=", 1.0)),
        Headline("fresh worker, Prometheus metrics on", "metrics_on_events_per_s", "events/s",
                 "the same, metrics off", "metrics_off_events_per_s", ratio_goal=0.97),
        Headline("metrics on / off, 1 / CPU per event", "metrics_cpu_ratio", ""),
        Headline("metrics CPU per event, in-process", "metrics_inprocess_share_pct",
                 "% of the worker's", goal=("<=", 3.0)),
    )),
    Bench("faust_levers", "faust's levers on the bare agent; the worker on both loops",
          ("--events", "100000"), 1200, (
        Headline("bare agent, best lever(s)", "bare_best_events_per_s", "events/s",
                 "bare agent, the worker's options", "bare_default_events_per_s"),
        Headline("bare agent, uvloop", "bare_uvloop_events_per_s", "events/s",
                 "bare agent, the worker's options", "bare_default_events_per_s"),
        Headline("worker on uvloop", "worker_uvloop_events_per_s", "events/s",
                 "worker on asyncio", "worker_asyncio_events_per_s"),
    )),
    Bench("scale_out", "Worker processes 1, 2, 3 over the 6-partition topic",
          ("--events", "50000", "--processes", "1,2,3,1"), 900, (
        Headline("2 worker processes", "worker_2p_events_per_s", "events/s",
                 "1 worker process", "worker_1p_events_per_s"),
        Headline("3 worker processes", "worker_3p_events_per_s", "events/s",
                 "1 worker process", "worker_1p_events_per_s"),
    )),
    Bench("sink", "Sink vs raw insert, freshness",
          ("100000", "--rate", "1000", "--seconds", "15"), 900, (
        Headline("sink (encoded path)", "sink_rows_per_s", "rows/s",
                 "raw chdb insert, same Avro", "raw_insert_rows_per_s", ratio_goal=0.5),
        Headline("freshness p95", "freshness_p95_ms", "ms", goal=("<=", 5_000)),
    )),
    Bench("sink_contacts", "Sink with the contacts projector", ("50000", "--repeat", "1"),
          600, (
        Headline("sink, contacts projector on", "sink_contacts_rows_per_s", "rows/s",
                 "projector off", "sink_rows_per_s"),
    )),
    Bench("appeals", "Appeal linking and customer time", ("1",), 600, (
        Headline("customer_time", "customer_time_contacts_per_s", "contacts/CPU-s",
                 "build_state per contact", "baseline_contacts_per_s"),
        Headline("link contacts into appeals", "link_contacts_per_s", "contacts/CPU-s",
                 "build_state per contact", "baseline_contacts_per_s"),
    )),
    Bench("warehouse_insert", "Warehouse adapter inserts", ("100000", "50000"), 300, (
        Headline("chdb adapter (Arrow)", "chdb_rows_per_s", "rows/s", "SQL VALUES text",
                 "baseline_rows_per_s"),
    )),
    Bench("queries", "Analyst queries over 10M rows", ("10000000",), 1200, (
        Headline("SL by channel x region x day, API (sl_daily)", "api_daily_ms", "ms",
                 "naive scan, no dedup", "naive_scan_ms", goal=("<=", 300)),
        Headline("same over outcomes FINAL", "api_report_ms", "ms", "naive scan, no dedup",
                 "naive_scan_ms"),
        Headline("same from the maxMap daily view", "daily_view_ms", "ms",
                 "naive scan, no dedup", "naive_scan_ms"),
    )),
)


def run_one(bench: Bench) -> Outcome:
    """Run one script; never raises for the script's own failure."""
    command = [sys.executable, f"bench/{bench.name}.py", *bench.args]
    began, cpu_before = time.monotonic(), _children_cpu_s()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              timeout=bench.timeout_s, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        code: int | None = done.returncode
        stdout, stderr = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code = None
        stdout = _text(exc.stdout)
        stderr = _text(exc.stderr) + f"\n[run_all] timed out after {bench.timeout_s} s"
    wall, cpu = time.monotonic() - began, _children_cpu_s() - cpu_before
    headlines = parse_headlines(bench.name, stdout) if code == 0 else {}
    return Outcome(bench, code, wall, stdout, stderr, headlines, os.getloadavg()[0], cpu)


def _children_cpu_s() -> float:
    """User+system CPU of finished children and the processes they waited for (brokers,
    workers): unlike wall time, hardly stretched by other load on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated bench names to run")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--note", default="", help="a paragraph to add under the machine facts")
    args = parser.parse_args(argv)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = wanted - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}")
    facts = machine_facts(ROOT)
    began = time.monotonic()
    outcomes = []
    for bench in BENCHES:
        if wanted and bench.name not in wanted:
            continue
        print(f"[run_all] {bench.name} {' '.join(bench.args)} ...", flush=True)
        outcome = run_one(bench)
        status = "ok" if outcome.ok else f"FAILED (exit {outcome.code})"
        print(f"[run_all] {bench.name}: {status} in {outcome.wall_s:.0f} s "
              f"({outcome.cpu_s:.0f} CPU s)", flush=True)
        if not outcome.ok:
            print(outcome.stderr_tail(), file=sys.stderr)
        outcomes.append(outcome)
    total = time.monotonic() - began
    facts["load average at the end"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    helpers = {"run_all", "perf_doc", "bare_agent", "local_broker"}
    listed = {b.name for b in BENCHES} | helpers
    unlisted = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem not in listed)
    if unlisted:
        print(f"[run_all] not in BENCHES, not run: {', '.join(unlisted)}", file=sys.stderr)
    note = args.note + (f"\n\nScripts in bench/ that run_all does not run: "
                        f"{', '.join(unlisted)}." if unlisted else "")
    doc = render(outcomes, facts, total, note.strip(), partial=bool(wanted))
    Path(args.output).write_text(doc)
    print(f"[run_all] {len(outcomes)} benchmarks in {total / 60:.1f} min -> {args.output}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
