"""Generation speed of the simulator (services/simulator) for one month of every tenant, next to
baselines measured in the same run:

* serialising already generated events to NDJSON (``ndjson_line``, the floor of any writer),
* generating without serialising (queues, lifecycles, ordering: the simulator's own cost),
* generating and writing NDJSON to a file (what ``kontakt simulate --output`` does).

Rates are events per CPU second of this process (the machine is shared, so wall time stretches
with the load average, which is printed); "x real" is simulated time over wall time.

Run: .venv/bin/python bench/simulate.py [DAYS] [--profile]
"""

from __future__ import annotations

import cProfile
import hashlib
import itertools
import json
import os
import pstats
import sys
import tempfile
import time

from schemas.events import parse_timestamp
from services.simulator.generate import generate
from services.simulator.model import SimConfig, random_storms
from services.simulator.sinks import NdjsonSink, ndjson_line, pump

START = parse_timestamp("2026-10-01T00:00:00Z")
SAMPLE = 200_000


def _config(days: float) -> SimConfig:
    end = START + round(days * 86_400_000)
    storms = random_storms(1, ("voronezh", "kursk", "tver"), START, end, int(days // 7))
    return SimConfig(seed=1, start_ms=START, days=days, storms=storms)


def main(days: float, profile: bool) -> None:
    config = _config(days)
    if profile:
        cProfile.runctx(
            "sum(1 for _ in generate(config))", globals(), {"config": config}, "/tmp/simulate.prof"
        )
        pstats.Stats("/tmp/simulate.prof").sort_stats("tottime").print_stats(15)
        return
    sample = list(itertools.islice(generate(config), SAMPLE))
    c = time.process_time()
    for e in sample:
        ndjson_line(e)
    serialise_rate = len(sample) / (time.process_time() - c)

    t, c = time.perf_counter(), time.process_time()
    n_generated = sum(1 for _ in generate(config))
    generate_s, generate_cpu = time.perf_counter() - t, time.process_time() - c

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "month.ndjson")
        t, c = time.perf_counter(), time.process_time()
        with open(path, "wb") as out:
            n_written = pump(generate(config), NdjsonSink(out), batch_size=1000)
        full_s, full_cpu = time.perf_counter() - t, time.process_time() - c
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
    assert n_written == n_generated
    simulated_s = days * 86_400
    rows = [
        ("baseline: ndjson_line of generated events", serialise_rate, None, None),
        ("generate only (no serialisation)", n_generated / generate_cpu, generate_s, generate_cpu),
        ("generate + NDJSON file (the CLI path)", n_written / full_cpu, full_s, full_cpu),
    ]
    print(
        f"{days:g} simulated days, all tenants: {n_written:,} events, "
        f"{size / 1e6:,.0f} MB NDJSON, sha256 {digest}"
    )
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(wall times stretch under load; events/s are per CPU second)"
    )
    head = f"{'step':<44} {'ev/cpu-s':>10} {'cpu s':>7} {'wall s':>7} {'vs base':>8} {'x real':>9}"
    print(head)
    for name, rate, wall, cpu in rows:
        cpu_text = f"{cpu:7.1f}" if cpu else f"{'-':>7}"
        wall_text = f"{wall:7.1f}" if wall else f"{'-':>7}"
        speedup = f"{simulated_s / wall:9,.0f}" if wall else f"{'-':>9}"
        ratio = rate / serialise_rate
        print(f"{name:<44} {rate:>10,.0f} {cpu_text} {wall_text} {ratio:>8.2f} {speedup}")
    print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
        "bench": "simulate", "days": days, "events": n_written,
        "cli_events_per_cpu_s": round(rows[2][1]),
        "baseline_events_per_cpu_s": round(serialise_rate),
        "generate_events_per_cpu_s": round(rows[1][1])}))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(float(args[0]) if args else 30.0, "--profile" in sys.argv)
