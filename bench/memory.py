"""Memory of the worker's in-process state at N open contacts (default 1M), next to baselines
measured in the same run on the same contacts.

Every variant runs in a fresh subprocess (so freed memory of one cannot serve the next) and
reports its RSS growth after a full GC, from just before the first contact to after the last:

* baseline: dict of tuples -- contact_id -> (tenant, region, channel, type, occurred_at), the
  least a Python process can keep per open contact;
* baseline: JSON bytes -- contact_id -> the event as compact JSON bytes (what a naive cache
  keeps; json.dumps, exactly sized -- orjson's bytes keep ~4 KB of capacity each when held);
* worker (default cache) -- ``streams.processor.ContactProcessor`` fed one opening event per
  contact through ``on_event`` (fold, evaluate, emissions, deadline heap, LRU of decoded
  entries), then ``snapshots`` (the live figures): what `kontakt worker` holds in Python;
* worker, every contact cached (with --all-cached) -- the LRU as large as the open set.

A last run under tracemalloc (N/10 contacts, at most 50,000) shows the allocation sites that
dominate the worker's share.

The table values the worker writes (RocksDB via faust, off the Python heap) are reported as bytes
per contact for reference. Contacts: 70% phone calls queued and 30% e-mails received, all in the
30 s before ``now``: under the worker's default policy (rao-ues-2007) every one has an open clock.

Run: .venv/bin/python bench/memory.py [N_CONTACTS] [--all-cached]
"""

from __future__ import annotations

import gc
import json
import linecache
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NOW = 1_796_040_000_000  # 2026-11-30 12:00 UTC, a Monday (15:00 in Moscow)
REGIONS = ("belgorod", "bryansk", "voronezh", "kursk", "tver", "yaroslavl")
VARIANTS = {
    "tuples": "baseline: dict of tuples",
    "json": "baseline: dict of JSON bytes",
    "worker": "worker state (default LRU cache)",
    "worker-all": "worker state, every contact cached",
}
TOP_SITES = 6
ROOT = Path(__file__).resolve().parents[1]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def contacts(n: int) -> Iterator[Any]:
    """One opening event per contact (ContactEvent), generated lazily."""
    from schemas.events import Channel, ContactEvent, EventType

    mix = [(Channel.PHONE, EventType.QUEUED)] * 7 + [(Channel.EMAIL, EventType.RECEIVED)] * 3
    for i in range(n):
        channel, etype = mix[i % 10]
        yield ContactEvent(f"ev{i}", f"ct{i}", "mrsk-center", REGIONS[i % len(REGIONS)],
                           channel, etype, NOW - 30_000 + i % 30_000)


def measure(variant: str, n: int) -> dict[str, Any]:
    """Build the variant's structure for n contacts; RSS growth and extra facts."""
    from schemas.events import event_to_json
    from services.settings import load_settings
    from streams.processor import ContactProcessor
    from streams.sla.policy import load_policy

    extra: dict[str, Any] = {}
    processor = None
    if variant.startswith("worker"):
        policy = load_policy(load_settings().sla_policy)
        processor = (ContactProcessor(policy, cache_size=n + 1) if variant == "worker-all"
                     else ContactProcessor(policy))
        warm = ContactProcessor(policy)  # lazy imports, zoneinfo, caches
        for k, e in enumerate(contacts(20)):
            warm.on_event(None, e, 0, k, NOW)
        warm.snapshots(NOW)
        del warm
    for e in contacts(1):
        json.dumps(event_to_json(e))
    gc.collect()
    before = rss_bytes()
    if variant == "worker-traced":
        tracemalloc.start(1)
    began = time.process_time()
    keep: dict[str, Any] = {}
    table_bytes = 0
    if variant == "tuples":
        for e in contacts(n):
            keep[e.contact_id] = (e.tenant, e.region, e.channel.value, e.type.value,
                                  e.occurred_at)
    elif variant == "json":
        for e in contacts(n):
            keep[e.contact_id] = json.dumps(event_to_json(e), separators=(",", ":")).encode()
    else:
        assert processor is not None
        for i, e in enumerate(contacts(n)):
            value, _ = processor.on_event(None, e, i % 6, i // 6, NOW)
            table_bytes += len(value or b"")
        processor.snapshots(NOW)
        extra = {"open_clocks": len(processor.heap), "table_bytes": table_bytes}
        if variant == "worker-traced":
            gc.collect()
            extra["sites"] = [(str(s.traceback[0]), s.size) for s in
                              tracemalloc.take_snapshot().statistics("lineno")[:TOP_SITES]]
            extra["traced"] = tracemalloc.get_traced_memory()[0]
    cpu_s = time.process_time() - began
    gc.collect()
    grown = rss_bytes() - before
    return {"variant": variant, "n": n, "rss_grown": grown, "cpu_s": cpu_s,
            "rss_total": rss_bytes(), **extra}


def run_variant(variant: str, n: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--variant", variant, str(n)],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(n: int, all_cached: bool) -> None:
    variants = {k: v for k, v in VARIANTS.items() if all_cached or k != "worker-all"}
    results = {v: run_variant(v, n) for v in variants}
    worker = results["worker"]
    json_base = results["json"]["rss_grown"] / n
    print(f"\n{n:,} open contacts (one opening event each, every clock open at `now`); "
          f"RSS growth after gc.collect(), each variant in a fresh process")
    print(f"{'structure':<40} {'MB':>8} {'bytes/contact':>14} {'x JSON base':>12} {'cpu s':>7}")
    for variant, label in variants.items():
        r = results[variant]
        per = r["rss_grown"] / n
        print(f"{label:<40} {r['rss_grown'] / 1e6:>8,.0f} {per:>14,.0f} "
              f"{per / json_base:>12.2f} {r['cpu_s']:>7.1f}")
    print(f"open clocks in the deadline heap: {worker['open_clocks']:,}; table values written "
          f"(RocksDB, off the Python heap): {worker['table_bytes'] / n:,.0f} bytes/contact; "
          f"worker process RSS at the end {worker['rss_total'] / 1e6:,.0f} MB")
    traced = run_variant("worker-traced", min(max(n // 10, 1), 50_000))
    n_traced = traced["n"]
    print(f"where the worker's bytes go (tracemalloc over {n_traced:,} contacts, "
          f"{traced['traced'] / n_traced:,.0f} traced bytes/contact):")
    for site, size in traced["sites"]:
        path, _, line = site.rpartition(":")
        code = linecache.getline(path, int(line)).strip()[:60]
        print(f"  {size / n_traced:>8,.0f} bytes/contact  "
              f"{path.replace(str(ROOT) + '/', '')}:{line}  {code}")
    per_worker = worker["rss_grown"] / n
    print("RESULT " + json.dumps({
        "bench": "memory", "contacts": n, "worker_bytes_per_contact": round(per_worker),
        "baseline_json_bytes_per_contact": round(json_base),
        "baseline_tuple_bytes_per_contact": round(results["tuples"]["rss_grown"] / n),
        "ratio_vs_json": round(per_worker / json_base, 2),
        "worker_mb": round(worker["rss_grown"] / 1e6),
    }))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--variant" in sys.argv:
        variant = sys.argv[sys.argv.index("--variant") + 1]
        print(json.dumps(measure(variant, int(args[-1]))))
    else:
        main(int(args[0]) if args else 1_000_000, "--all-cached" in sys.argv)
