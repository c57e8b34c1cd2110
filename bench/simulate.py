"""Generation speed of the simulator (services/simulator) for one month of every tenant, next to
baselines measured in the same run:

* serialising already generated events to NDJSON (``ndjson_line``, the floor of any writer),
* generating without serialising (queues, lifecycles, ordering: the simulator's own cost),
* generating and writing NDJSON to a file (what ``kontakt simulate --output`` does).

Run: .venv/bin/python bench/simulate.py [DAYS] [--profile]
"""

from __future__ import annotations

import cProfile
import hashlib
import itertools
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
        cProfile.runctx("sum(1 for _ in generate(config))", globals(), {"config": config},
                        "/tmp/simulate.prof")  # fmt: skip
        pstats.Stats("/tmp/simulate.prof").sort_stats("tottime").print_stats(15)
        return
    sample = list(itertools.islice(generate(config), SAMPLE))
    t = time.perf_counter()
    for e in sample:
        ndjson_line(e)
    serialise_rate = len(sample) / (time.perf_counter() - t)

    t = time.perf_counter()
    n_generated = sum(1 for _ in generate(config))
    generate_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "month.ndjson")
        t = time.perf_counter()
        with open(path, "wb") as out:
            n_written = pump(generate(config), NdjsonSink(out), batch_size=1000)
        full_s = time.perf_counter() - t
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
    assert n_written == n_generated
    simulated_s = days * 86_400
    rows = [
        ("baseline: ndjson_line of generated events", serialise_rate, None),
        ("generate only (no serialisation)", n_generated / generate_s, generate_s),
        ("generate + NDJSON file (the CLI path)", n_written / full_s, full_s),
    ]
    print(f"{days:g} simulated days, all tenants: {n_written:,} events, "
          f"{size / 1e6:,.0f} MB NDJSON, sha256 {digest}")  # fmt: skip
    print(f"{'step':<44} {'events/s':>10} {'wall s':>8} {'vs baseline':>12} {'x real time':>12}")
    for name, rate, wall in rows:
        wall_text = f"{wall:8.1f}" if wall else f"{'-':>8}"
        speedup = f"{simulated_s / wall:12,.0f}" if wall else f"{'-':>12}"
        print(f"{name:<44} {rate:>10,.0f} {wall_text} {rate / serialise_rate:>12.2f} {speedup}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(float(args[0]) if args else 30.0, "--profile" in sys.argv)
