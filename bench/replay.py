"""Replay throughput of the SLA core (streams/sla/replay.py) on >= 1M generated events, next to
baselines measured in the same run on the same lines:

* ``orjson.loads`` of every line (the floor of any NDJSON reader),
* ``json.loads`` + ``parse_event`` (validation into ContactEvent only),
* parse + group by contact + sort per contact (no SLA arithmetic).

Run: .venv/bin/python bench/replay.py [N_EVENTS] [--repeat=R] [--profile]

``--repeat=R`` runs every step R times, interleaved, and keeps each step's fastest run: on a
shared machine the other jobs only ever add time, so the minimum is the least disturbed one.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from schemas.events import parse_event
from streams.sla.policy import load_policy
from streams.sla.replay import format_instant, load_events, ndjson, paused_gc, replay

T0 = 1_796_000_000_000  # 2026-11-30, a Monday
REGIONS = ("belgorod", "bryansk", "voronezh", "kursk", "tver", "yaroslavl")
FLOWS: list[tuple[str, int, list[tuple[str, int]]]] = [
    # (channel, weight, [(type, max offset in ms)])
    ("phone", 60, [("queued", 0), ("answered", 90_000), ("closed", 600_000)]),
    ("phone", 10, [("queued", 0), ("abandoned", 120_000)]),
    ("email", 15, [("received", 0), ("registered", 40_000_000), ("classified", 60_000_000),
                   ("assigned", 100_000_000), ("responded", 900_000_000)]),
    ("web", 10, [("received", 0), ("paused", 200_000_000), ("resumed", 400_000_000),
                 ("responded", 2_000_000_000)]),
    ("in_person", 5, [("queued", 0), ("answered", 2_400_000)]),
]


def generate(n_events: int, seed: int = 7) -> list[bytes]:
    """Canonical NDJSON lines of whole contacts, arrival order shuffled locally, 1% duplicates."""
    rnd = random.Random(seed)
    weights = [w for _, w, _ in FLOWS]
    lines: list[bytes] = []
    contact = 0
    while len(lines) < n_events:
        channel, _, steps = rnd.choices(FLOWS, weights)[0]
        start = T0 + rnd.randrange(0, 7 * 86_400_000)
        contact += 1
        region = rnd.choice(REGIONS)
        for i, (etype, spread) in enumerate(steps):
            at = start + (rnd.randrange(0, spread) if spread else 0)
            line = orjson.dumps({
                "event_id": f"ev-{contact}-{i}", "contact_id": f"ct-{contact}",
                "tenant": "mrsk-center", "region": region, "channel": channel, "type": etype,
                "occurred_at": format_instant(at), "kind": "inquiry",
                "customer_category": "standard", "office": f"{region}-1",
            })
            lines.append(line)
            if rnd.random() < 0.01:
                lines.append(line)
    for i in range(0, len(lines) - 8, 4):  # local disorder, as Kafka partitions deliver it
        window = lines[i:i + 8]
        rnd.shuffle(window)
        lines[i:i + 8] = window
    return lines[:n_events]


def _timed(fn: Callable[[], Any]) -> float:
    """CPU seconds of this process: the machine is shared, wall time would measure neighbours."""
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def _group_only(lines: list[bytes]) -> None:
    loaded = load_events(lines)
    for events in loaded.events.values():
        events.sort(key=lambda e: (e.occurred_at, e.event_id))


def _versioned(policy: Any) -> Any:
    """The generated tenant under 3 versions, the middle one with a region override, changing
    inside the generated period: every contact goes through the version selection. All of them
    are the rules of ``policy`` again, so the outcomes are the same and the difference between
    the two replay rows is the selection's cost alone."""
    from streams.sla.versions import Rules, book_of, parse_version

    strict = {"preset": "rao-ues-2007"}
    docs = [(T0 - 86_400_000, {"default": {"preset": "rao-ues-2007"}}),
            (T0 + 86_400_000, {"default": {"preset": "rao-ues-2007"},
                               "overrides": [{"region": "kursk", **strict}]}),
            (T0 + 3 * 86_400_000, {"default": strict})]
    return Rules(policy, book_of(
        parse_version({"effective_from": at, **doc}, "mrsk-center", i + 1, "bench")
        for i, (at, doc) in enumerate(docs)))


def _paused(fn: Callable[[list[bytes]], None], lines: list[bytes]) -> None:
    with paused_gc():
        fn(lines)


def main(n: int, profile: bool, repeat: int = 1) -> None:
    policy = load_policy("rao-ues-2007")
    versioned = _versioned(policy)
    t = time.perf_counter()
    lines = generate(n)
    print(f"generated {len(lines):,} events in {time.perf_counter() - t:.1f} s")
    runs: list[tuple[str, Callable[[], Any]]] = [
        ("baseline: orjson.loads per line", lambda: [orjson.loads(x) for x in lines]),
        ("baseline: json.loads per line", lambda: [json.loads(x) for x in lines]),
        ("baseline: parse_event(orjson.loads)", lambda: [parse_event(orjson.loads(x))
                                                        for x in lines]),
        ("baseline: parse + group + sort", lambda: _group_only(lines)),
        ("baseline: parse + group + sort, gc paused", lambda: _paused(_group_only, lines)),
        ("replay: parse, fold, evaluate, NDJSON out", lambda: ndjson(
            replay(lines, policy).outcomes)),
        ("replay, the tenant on 3 policy versions", lambda: ndjson(
            replay(lines, versioned).outcomes)),
    ]
    if profile:
        cProfile.runctx("replay(lines, policy)", globals(), {"lines": lines, "policy": policy},
                        "/tmp/replay.prof")
        pstats.Stats("/tmp/replay.prof").sort_stats("tottime").print_stats(15)
        return
    best = [float("inf")] * len(runs)
    for _ in range(repeat):  # rounds interleave the steps: a busy spell hits all of them
        for i, (_, fn) in enumerate(runs):
            best[i] = min(best[i], _timed(fn))
    results = [(name, len(lines) / seconds) for (name, _), seconds in zip(runs, best, strict=True)]
    print(f"best of {repeat} round(s) per step, CPU time of this process")
    floor = results[0][1]
    replay_rate, versions_rate = results[-2][1], results[-1][1]
    print(f"{'step':<46} {'events/s':>12} {'vs orjson':>10} {'replay / this':>14}")
    for name, rate in results:
        print(f"{name:<46} {rate:>12,.0f} {rate / floor:>10.2f} {replay_rate / rate:>14.2f}")
    print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
        "bench": "replay", "events": len(lines), "repeat": repeat,
        "replay_events_per_s": round(replay_rate),
        "replay_versions_events_per_s": round(versions_rate),
        "baseline_orjson_events_per_s": round(floor),
        "baseline_group_sort_gc_paused_events_per_s": round(results[-3][1])}))
    print(f"policy versions: {versions_rate / replay_rate:.2f} of the single-policy replay")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = [int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--repeat=")]
    main(int(args[0]) if args else 1_000_000, "--profile" in sys.argv, rounds[0] if rounds else 1)
