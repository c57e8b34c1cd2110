"""faust's own ceiling under each of its documented levers (issue 15, item 1).

One run, one broker, one topic of N phone events; then, each with a fresh consumer group
reading the whole topic:
1. baseline: a plain aiokafka consume-and-decode loop (bench/worker.py's raw_consume);
2. the bare faust agent (bench/bare_agent.py: the worker's App options and batching, doing
   nothing) with the worker's settings, then with one lever changed at a time, then with the
   levers that helped together; the default again at the end, to show the run's drift.

Levers: ``stream_buffer_maxsize`` 131072 (faust's settings docs: "may let you process over
30,000 events a second as a baseline"), ``cython_optimizations`` (the repaired Cython fast
paths, opt-in since 0.14), ``broker_max_poll_records``, ``consumer_max_fetch_size``, uvloop
(faust's ``--loop uvloop``), the Monitor sensor's per-message hooks, and the commit cadence
(``broker_commit_every`` / ``broker_commit_interval``).

3. the worker itself (`kontakt worker`, live appeals and metrics as configured) on asyncio and
   on uvloop (KONTAKT_WORKER_EVENT_LOOP), so the lever that helps the framework is measured
   where it counts, with the worker / bare agent ratio of the same run.

Per variant: events/s from the group's committed offsets, and the CPU time per event of the
agent's process (bench/worker.py's worker_throughput). Noisy on 2 shared cores: compare rows
of one run, with the load average printed beside them.

Run: .venv/bin/python bench/faust_levers.py [--events 100000] [--only NAME,...] [--no-worker]
                                           [--worker-rounds 2] [--compare-checkout DIR]
                                           [--compare-env NAME=A,B]
``--compare-checkout DIR``: the worker of another checkout (a commit before a change) against
this one's, alternating, so a change's gain is measured in one run.
``--compare-env NAME=A,B[,...]``: this checkout's worker with the setting NAME (an environment
variable, e.g. KONTAKT_WORKER_CACHE_CONTACTS) at each value, alternating in the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from local_broker import start_broker  # bench/ siblings (sys.path[0])
from worker import (
    KONTAKT,
    call_events,
    produce,
    raw_consume,
    start_worker,
    stop,
    worker_env,
    worker_throughput,
)

from services.settings import Settings, load_settings

#: name -> (what it changes, KONTAKT_BENCH_FAUST for bench/bare_agent.py, faust CLI options)
Variant = tuple[str, dict[str, Any], list[str]]
LEVERS: dict[str, Variant] = {
    "default": ("the worker's App options (streams.app.app_options)", {}, []),
    "buffer-131072": ("stream_buffer_maxsize=131072 (worker: 8192)",
                      {"options": {"stream_buffer_maxsize": 131_072}}, []),
    "cython": ("cython_optimizations=True", {"options": {"cython_optimizations": True}}, []),
    "poll-5000": ("broker_max_poll_records=5000 (aiokafka: 500)",
                  {"options": {"broker_max_poll_records": 5_000}}, []),
    "fetch-16MiB": ("consumer_max_fetch_size=16 MiB (faust: 1 MiB per partition)",
                    {"options": {"consumer_max_fetch_size": 16 * 1024 * 1024}}, []),
    "uvloop": ("faust --loop uvloop", {}, ["--loop", "uvloop"]),
    "quiet-monitor": ("the Monitor sensor's per-message hooks off", {"quiet_monitor": True}, []),
    "commit-10000": ("broker_commit_every=10000, broker_commit_interval=3.0 (worker: 2000, 1.0)",
                     {"options": {"broker_commit_every": 10_000,
                                  "broker_commit_interval": 3.0}}, []),
}


def combined(rates: dict[str, float]) -> Variant | None:
    """The levers that beat the default by over 5% in this run, together (None: none did)."""
    base = rates["default"]
    chosen = [n for n, r in rates.items() if n not in ("default", "together") and r > 1.05 * base]
    if not chosen:
        return None
    env: dict[str, Any] = {"options": {}}
    cli: list[str] = []
    for name in chosen:
        _what, lever, args = LEVERS[name]
        env["options"].update(lever.get("options", {}))
        env["quiet_monitor"] = env.get("quiet_monitor") or lever.get("quiet_monitor", False)
        cli += args
    return " + ".join(chosen), env, cli


def bare_rate(settings: Settings, tmp: Path, topic: str, n: int, label: str,
              variant: Variant) -> tuple[float, float]:
    """(events/s, CPU s per event) of bench/bare_agent.py under ``variant``, a fresh group."""
    _what, lever, cli = variant
    app_id = f"{settings.worker_app_id}-{label}-{uuid.uuid4().hex[:4]}"
    run = settings.model_copy(update={"worker_app_id": app_id})
    data = tmp / app_id
    (data / "bare").mkdir(parents=True, exist_ok=True)
    env = {**worker_env(run, data), "KONTAKT_BENCH_FAUST": json.dumps(lever)}
    log = (tmp / f"{app_id}.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_agent.py")),
                             *cli, "worker", "-l", "warn"], env=env, stdout=log, stderr=log,
                            cwd=data)
    try:
        return worker_throughput(settings.kafka_bootstrap, app_id, topic, n, timeout_s=600,
                                 procs=[proc])
    finally:
        stop(proc)


def worker_rate(settings: Settings, tmp: Path, events: list[Any], loop: str,
                kontakt: Path = KONTAKT,
                env: dict[str, str] | None = None) -> tuple[float, float]:
    """(events/s, CPU s per event) of one `kontakt worker` on ``loop``: topics of its own
    (the events produced again), or it would also link the appeals earlier runs re-keyed."""
    from services.topics import apply_topics

    suffix = uuid.uuid4().hex[:6]
    run = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}{loop}{suffix}.",
                                      "worker_app_id": f"{settings.worker_app_id}-{suffix}"})
    list(apply_topics(run))
    topic = run.topic(run.events_topic)
    asyncio.run(produce(run.kafka_bootstrap, topic, events))
    proc = start_worker(run, tmp / run.worker_app_id, 0,
                        {"KONTAKT_WORKER_EVENT_LOOP": loop, **(env or {})}, kontakt)
    try:
        return worker_throughput(run.kafka_bootstrap, run.worker_app_id, topic, len(events),
                                 timeout_s=900, procs=[proc])
    finally:
        stop(proc)


def best(runs: dict[str, tuple[float, float]], label: str, got: tuple[float, float]) -> None:
    """Keep the faster of the rounds of ``label`` (noise on a shared machine only slows)."""
    if label not in runs or got[0] > runs[label][0]:
        runs[label] = got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--only", default="", help="comma-separated lever names (default: all)")
    parser.add_argument("--no-worker", action="store_true",
                        help="the bare agent only, not `kontakt worker` on both loops")
    parser.add_argument("--compare-env", default="",
                        help="NAME=A,B: this worker with the setting NAME at each value")
    parser.add_argument("--compare-checkout", type=Path, default=None,
                        help="another checkout (with its .venv): its `kontakt worker` against "
                        "this one's on the same events, alternating --worker-rounds times")
    parser.add_argument("--worker-rounds", type=int, default=2,
                        help="rounds of the worker on each loop, alternating the order; the "
                        "best of each is shown")
    args = parser.parse_args()
    from services.topics import apply_topics

    names = [n for n in LEVERS if not args.only or n in args.only.split(",") or n == "default"]
    if "uvloop" in names and importlib.util.find_spec("uvloop") is None:
        print("uvloop is not installed: that lever is skipped (pip install uvloop)")
        names.remove("uvloop")
    tmp = Path(tempfile.mkdtemp(prefix="bench-levers-"))
    broker = start_broker(tmp / "kafka")
    try:
        suffix = uuid.uuid4().hex[:8]
        settings = load_settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"lev{suffix}.",
                                 worker_app_id=f"bench-levers-{suffix}")
        list(apply_topics(settings))
        topic = settings.topic(settings.events_topic)
        past = int(time.time() * 1000) - 3_600_000
        events = call_events(args.events * 10 // 19, past, 10)[: args.events]
        asyncio.run(produce(broker.bootstrap, topic, events))
        raw = asyncio.run(raw_consume(broker.bootstrap, topic, len(events)))
        rows: list[tuple[str, str, float, float]] = []
        rates: dict[str, float] = {}
        for name in names:
            rate, cpu = bare_rate(settings, tmp, topic, len(events), name, LEVERS[name])
            rates[name] = rate
            rows.append((name, LEVERS[name][0], rate, cpu))
        together = combined(rates)
        if together is not None:
            rate, cpu = bare_rate(settings, tmp, topic, len(events), "together", together)
            rates["together"] = rate
            rows.append(("together", together[0], rate, cpu))
        rate, cpu = bare_rate(settings, tmp, topic, len(events), "default-again", LEVERS["default"])
        rows.append(("default (again)", "the first row repeated: the run's drift", rate, cpu))
        workers: dict[str, tuple[float, float]] = {}
        for _round in range(0 if args.no_worker else args.worker_rounds):
            for loop in ("uvloop", "asyncio") if _round % 2 else ("asyncio", "uvloop"):
                best(workers, loop, worker_rate(settings, tmp, events, loop))
        checkouts: dict[str, tuple[float, float]] = {}
        if args.compare_checkout:
            other = args.compare_checkout / ".venv" / "bin" / "kontakt"
            for _round in range(args.worker_rounds):
                for label in ("other", "this") if _round % 2 else ("this", "other"):
                    best(checkouts, label, worker_rate(settings, tmp, events, "asyncio",
                                                       KONTAKT if label == "this" else other))
        settings_runs: dict[str, tuple[float, float]] = {}
        if args.compare_env:
            name, _, values = args.compare_env.partition("=")
            order = values.split(",")
            for _round in range(args.worker_rounds):
                for value in order[::-1] if _round % 2 else order:
                    best(settings_runs, value, worker_rate(settings, tmp, events, "asyncio",
                                                           env={name: value}))
    finally:
        broker.stop()
    load = os.getloadavg()
    print(f"events {len(events)}, cores {os.cpu_count()}, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"baseline: aiokafka consume + decode {raw:,.0f} events/s")
    print(f"{'lever':<16}{'events/s':>10}{'vs default':>12}{'vs raw':>8}{'CPU µs/ev':>11}  change")
    base = rates["default"]
    for name, what, rate, cpu in rows:
        print(f"{name:<16}{rate:>10,.0f}{rate / base:>12.2f}{rate / raw:>8.2f}"
              f"{cpu * 1e6:>11.0f}  {what}")
    for loop, (rate, cpu) in workers.items():
        bare = rates["uvloop" if loop == "uvloop" and "uvloop" in rates else "default"]
        print(f"{'worker ' + loop:<16}{rate:>10,.0f}{rate / base:>12.2f}{rate / raw:>8.2f}"
              f"{cpu * 1e6:>11.0f}  kontakt worker; / bare agent on the same loop "
              f"{rate / bare:.2f}")
    if checkouts:
        this, other = checkouts["this"][0], checkouts["other"][0]
        print(f"worker, this checkout {this:,.0f} ev/s ({checkouts['this'][1] * 1e6:.0f} "
              f"CPU µs/ev); {args.compare_checkout}: {other:,.0f} ev/s "
              f"({checkouts['other'][1] * 1e6:.0f} CPU µs/ev); ratio {this / other:.2f}")
    if settings_runs:
        first = settings_runs[args.compare_env.partition("=")[2].split(",")[0]][0]
        for value, (rate, cpu) in settings_runs.items():
            print(f"worker, {args.compare_env.partition('=')[0]}={value}: {rate:,.0f} ev/s "
                  f"({cpu * 1e6:.0f} CPU µs/ev); ratio to the first value {rate / first:.2f}")
    top = max(rates, key=lambda n: rates[n])
    print("RESULT " + json.dumps({
        "raw_consumer_events_per_s": round(raw),
        "bare_default_events_per_s": round(base),
        "bare_best_events_per_s": round(rates[top]), "best_lever": top,
        **{f"bare_{n.replace('-', '_')}_events_per_s": round(r) for n, r in rates.items()},
        **{f"worker_{loop}_events_per_s": round(r) for loop, (r, _c) in workers.items()},
    }))


if __name__ == "__main__":
    main()
