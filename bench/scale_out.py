"""Scale-out of `kontakt worker`: events/s of 1, 2 and 3 processes in one consumer group over
the 6-partition events topic, in one run, next to the raw aiokafka consumer of the same events.

Each round gets topics and a consumer group of its own (so no round reads another's outputs
or offsets) and the same generated calls; the counts run 1, 2, 3 and then 1 again, so the
run's drift shows beside the scaling. Printed: the machine's cores and load average, events/s
per count, the factor against one process measured in the same run, and CPU µs per event.

Run: .venv/bin/python bench/scale_out.py [--events 50000] [--processes 1,2,3,1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from local_broker import start_broker  # bench/ sibling (sys.path[0])
from worker import (
    call_events,
    fresh_topics,
    produce,
    raw_consume,
    start_worker,
    stop,
    worker_throughput,
)

from services.settings import load_settings


def one_round(bootstrap: str, tmp: Path, processes: int, events: list) -> tuple[float, float]:
    """Fresh topics and group; ``processes`` workers over ``events``: (events/s, CPU s/ev)."""
    settings, suffix = fresh_topics(bootstrap, events, prefix="scale")
    topic = settings.topic(settings.events_topic)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers = [start_worker(settings, tmp / suffix, i) for i in range(processes)]
        return worker_throughput(bootstrap, settings.worker_app_id, topic, len(events),
                                 timeout_s=900, procs=workers)
    finally:
        for w in workers:
            stop(w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--processes", default="1,2,3,1",
                        help="process counts, one round each, in this order")
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",") if c.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    broker = start_broker(tmp / "kafka")
    try:
        past = int(time.time() * 1000) - 3_600_000
        events = call_events(args.events * 10 // 19, past, 10)[: args.events]
        settings = load_settings(kafka_bootstrap=broker.bootstrap, topic_prefix="scale-raw.")
        from services.topics import apply_topics

        list(apply_topics(settings))
        raw_topic = settings.topic(settings.events_topic)
        asyncio.run(produce(broker.bootstrap, raw_topic, events))
        raw = asyncio.run(raw_consume(broker.bootstrap, raw_topic, len(events)))
        rounds = [(n, *one_round(broker.bootstrap, tmp, n, events)) for n in counts]
        load = os.getloadavg()
        one = [rate for n, rate, _ in rounds if n == 1]
        base = max(one) if one else rounds[0][1]
        partitions = settings.topic_partitions
        print(f"events {len(events)}, partitions {partitions}, cores {os.cpu_count()}, "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print(f"baseline: aiokafka consume + decode {raw:,.0f} events/s (one process)")
        print(f"{'processes':>9} {'events/s':>10} {'vs 1 process':>13} {'vs raw':>7} "
              f"{'CPU µs/ev':>10}")
        for n, rate, cpu in rounds:
            print(f"{n:>9} {rate:>10,.0f} {rate / base:>13.2f} {rate / raw:>7.2f} "
                  f"{cpu * 1e6:>10.0f}")
        print("RESULT " + json.dumps({
            "bench": "scale_out", "events": len(events), "cores": os.cpu_count(),
            "partitions": partitions, "raw_consumer_events_per_s": round(raw),
            **{f"worker_{n}p_events_per_s": round(max(r for m, r, _ in rounds if m == n))
               for n in sorted(set(counts))}}))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
