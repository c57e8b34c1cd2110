"""What bench/run_all.py needs besides running things: the benchmark descriptions, the headline
numbers of a script's output, the machine facts and the docs/performance.md text.

Headlines come from the script's last ``RESULT {json}`` line when it prints one; otherwise (or
for keys it lacks) from the labelled rows of its table, described in TABLE_ROWS as (row label
prefix, index of the number after the label). Both are read so that a script rewritten without
its RESULT line still gives its figures, and a missing figure shows as missing, never as 0.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?!\w)")
TABLE_ROWS: dict[str, dict[str, tuple[str, int]]] = {
    "codec": {"codec_encode_per_s": ("codec.encode_event", 0),
              "codec_decode_per_s": ("codec.decode_event", 0),
              "raw_encode_per_s": ("baseline: fastavro schemaless_writer", 0),
              "raw_decode_per_s": ("baseline: fastavro schemaless_reader", 0)},
    "replay": {"replay_events_per_s": ("replay: parse, fold", 0),
               "baseline_orjson_events_per_s": ("baseline: orjson.loads per line", 0)},
    "simulate": {"cli_events_per_cpu_s": ("generate + NDJSON file", 0),
                 "baseline_events_per_cpu_s": ("baseline: ndjson_line", 0)},
    "memory": {"worker_bytes_per_contact": ("worker state (default LRU cache)", 1),
               "baseline_json_bytes_per_contact": ("baseline: dict of JSON bytes", 1)},
    "kafka_start": {"default_wall_s": ("serial GC + C1 + CDS (default)", 0),
                    "baseline_wall_s": ("baseline: JVM defaults, no CDS", 0)},
    "ingest": {"api_1_events_per_s": ("ingest API, batch endpoint, 1 client", 0),
               "api_2_events_per_s": ("ingest API, batch endpoint, 2 client", 0),
               "raw_producer_events_per_s": ("baseline: raw kafka-python producer", 0)},
    "worker": {"worker_events_per_s": ("kontakt worker ev/s", 0),
               "raw_consumer_events_per_s": ("baseline: aiokafka consume + decode", 0),
               "breach_p50_s": ("breach latency p50 (s)", 0),
               "breach_p99_s": ("breach latency p99 (s)", 0),
               "sustained_events_per_s": ("sustained phase: events/s offered", 0),
               "lag_at_end": ("worker lag at its end (events)", 0)},
    "sink": {"sink_rows_per_s": ("sink, Kafka -> chdb, encoded", 0),
             "raw_insert_rows_per_s": ("raw chdb insert: same Avro bodies", 0),
             "freshness_p95_ms": ("p50", 1)},
    "sink_contacts": {"sink_rows_per_s": ("contacts projector off (baseline)", 0),
                      "sink_contacts_rows_per_s": ("contacts projector on", 0)},
    "appeals": {"baseline_contacts_per_s": ("baseline: build_state per contact", 0),
                "customer_time_contacts_per_s": ("customer_time per contact", 0),
                "link_contacts_per_s": ("link all contacts into appeals", 0)},
    "warehouse_insert": {"chdb_rows_per_s": ("chdb adapter insert (Arrow stream)", 0),
                         "baseline_rows_per_s": ("chdb, SQL VALUES text (baseline)", 0)},
    "board": {"board_records_per_s": ("decode + LiveBoard fold", 0),
              "decode_records_per_s": ("baseline: codec.decode only", 0)},
    "queries": {"api_daily_ms": ("API daily report", 0),
                "api_report_ms": ("API report", 0), "daily_view_ms": ("daily view", 0),
                "naive_scan_ms": ("naive scan", 0)},
}


@dataclass(frozen=True)
class Headline:
    """One figure of the summary: value key, baseline key (same run), goal on either."""

    label: str
    key: str
    unit: str
    baseline_label: str | None = None
    baseline_key: str | None = None
    goal: tuple[str, float] | None = None  # (">=" or "<=", target) on the value
    ratio_goal: float | None = None  # value / baseline must be >= this


@dataclass(frozen=True)
class Bench:
    name: str  # bench/<name>.py
    title: str
    args: tuple[str, ...]
    timeout_s: int
    headlines: tuple[Headline, ...]


@dataclass(frozen=True)
class Outcome:
    bench: Bench
    code: int | None  # None: timed out
    wall_s: float
    stdout: str
    stderr: str
    headlines: dict[str, float]
    load_after: float
    cpu_s: float = 0.0  # CPU of the script and the processes it waited for

    @property
    def ok(self) -> bool:
        return self.code == 0

    def stderr_tail(self, lines: int = 25) -> str:
        return "\n".join(self.stderr.rstrip().splitlines()[-lines:])

    @property
    def table(self) -> str:
        """stdout without the RESULT line (that one is for machines)."""
        return "\n".join(x for x in self.stdout.strip().splitlines()
                         if not x.startswith("RESULT "))


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_headlines(name: str, stdout: str) -> dict[str, float]:
    found: dict[str, float] = {}
    lines = [x.strip() for x in stdout.splitlines()]
    for key, (prefix, index) in TABLE_ROWS.get(name, {}).items():
        for line in lines:
            if line.startswith(prefix):
                numbers = NUMBER.findall(line[len(prefix):])
                if len(numbers) > index:
                    found[key] = _number(numbers[index])
                break
    results = [x for x in lines if x.startswith("RESULT ")]
    if results:
        data: dict[str, Any] = json.loads(results[-1][len("RESULT "):])
        found.update({k: float(v) for k, v in data.items()
                      if isinstance(v, int | float) and not isinstance(v, bool) and v == v})
    return found


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return (done.stdout + done.stderr).strip()


def machine_facts(root: Path) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)
    commit = _run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": model.group(1) if model else platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "memory": f"{int(mem_kb.group(1)) / 1024 ** 2:.1f} GiB" if mem_kb else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Java": _run(["java", "-version"]).splitlines()[0],
        "commit": commit + (" + uncommitted changes" if dirty else ""),
        "load average at the start": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def fmt(value: float | None) -> str:
    if value is None:
        return "missing"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def summary_rows(outcome: Outcome) -> list[str]:
    rows = []
    for h in outcome.bench.headlines:
        value = outcome.headlines.get(h.key)
        base = outcome.headlines.get(h.baseline_key) if h.baseline_key else None
        ratio = value / base if value is not None and base else None
        goals, met = [], []
        if h.goal:
            op, target = h.goal
            goals.append(f"{op} {fmt(target)} {h.unit}")
            if value is not None:
                met.append(value >= target if op == ">=" else value <= target)
        if h.ratio_goal is not None:
            goals.append(f"ratio >= {h.ratio_goal}")
            if ratio is not None:
                met.append(ratio >= h.ratio_goal)
        if not outcome.ok:
            verdict = "**failed**" if goals else "failed"
        elif not goals:
            verdict = "-"
        elif len(met) < len(goals):
            verdict = "**missing**"
        else:
            verdict = ", ".join(_met(m) for m in met)
        baseline = f"{fmt(base)} ({h.baseline_label})" if h.baseline_key else "-"
        shown = f"{fmt(value)} {h.unit}" if outcome.ok else "-"
        rows.append(f"| {outcome.bench.name} | {h.label} | {shown} | {baseline} "
                    f"| {fmt(ratio) if ratio is not None else '-'} | {'; '.join(goals) or '-'} "
                    f"| {verdict} |")
    return rows


def render(outcomes: list[Outcome], facts: dict[str, str], total_s: float, note: str,
           partial: bool) -> str:
    failed = [o.bench.name for o in outcomes if not o.ok]
    out = ["# Performance", "",
           "Generated by `bench/run_all` (`make bench`); every figure below comes from that one "
           "run. Each benchmark measures its baseline in the same run, on the same data, and "
           "the ratio is figure / baseline. Re-run everything with `bench/run_all`, one "
           "benchmark with the command shown in its section. Sizes suit a 2-core machine "
           "(under 15 minutes when it is otherwise idle): the worker memory runs at 1M open "
           "contacts and the analyst queries over 10M events, as the issue asks; throughput "
           "benchmarks use smaller inputs than their defaults. CPU seconds (the script and the "
           "processes it waited for) are given next to wall time because they stretch less "
           "when other work shares the machine.", ""]
    if partial:
        out += ["**Partial run** (`--only`): only some benchmarks ran.", ""]
    out += ["## Machine", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in facts.items()]
    cpu = sum(o.cpu_s for o in outcomes)
    out += [f"| total wall time | {total_s / 60:.1f} min for {len(outcomes)} benchmarks "
            f"({cpu / 60:.1f} CPU min of their processes) |", ""]
    if note:
        out += [note, ""]
    if failed:
        out += [f"**Failed:** {', '.join(failed)} (see their sections; run_all exited 1).", ""]
    out += ["## Summary: headline figures against the goals", "",
            "| bench | figure | value | baseline (same run) | ratio | goal | met |",
            "|---|---|---|---|---|---|---|"]
    for o in outcomes:
        out += summary_rows(o)
    out += ["", "## Benchmarks", ""]
    for o in outcomes:
        command = " ".join([".venv/bin/python", f"bench/{o.bench.name}.py", *o.bench.args])
        status = "ok" if o.ok else ("**FAILED: timed out**" if o.code is None
                                    else f"**FAILED: exit code {o.code}**")
        out += [f"### {o.bench.name}: {o.bench.title}", "",
                f"`{command}` -- {status}, wall time {o.wall_s:.0f} s, {o.cpu_s:.0f} CPU s, "
                f"load average {o.load_after:.1f} when it ended.", "", "```text",
                o.table or "(no output)",
                "```", ""]
        if not o.ok:
            out += ["stderr (last lines):", "", "```text", o.stderr_tail() or "(empty)", "```", ""]
    return "\n".join(out)
