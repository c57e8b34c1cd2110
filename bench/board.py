"""How many alerts-topic and metrics-topic records per second the API's board feed folds and fans
out to open pages, next to decoding alone (the floor: every record must be decoded anyway).

The mix follows a busy centre: per contact a few outcome revisions and alerts, and the worker's
metric snapshots (several windows per group every tick). The fold is LiveBoard.apply_batch (as
the feed calls it); fan-out is the Hub handing the coalesced updates of each 2,000-record batch
to PAGES subscribers with their own tenant/region filters (queues drained, as SSE streams do).

Run: .venv/bin/python bench/board.py [N]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from schemas.codec import decode, encode
from services.alerts.feed import coalesce
from services.alerts.hub import Hub
from services.alerts.live import LiveBoard, Scope

PAGES = 10
REGIONS = ("tver", "kursk", "tambov", "orel", "bryansk")
T0 = 1_795_700_000_000


def records(n: int) -> list[bytes]:
    out: list[bytes] = []
    i = 0
    while len(out) < n:
        region = REGIONS[i % len(REGIONS)]
        tenant = ("mrsk-center", "energosbyt")[i % 2]
        common = {"contact_id": f"c{i}", "milestone": "phone.answer", "started_at": T0 + i,
                  "due_at": T0 + i + 40_000, "stopped_at": None, "elapsed_ms": 20_000,
                  "target_ms": 40_000, "tenant": tenant, "region": region, "channel": "phone",
                  "contact_kind": "inquiry", "customer_category": "standard", "office": None}
        out.append(encode("SlaAlertRaised", {**common, "alert_id": f"w{i}", "alert": "warning",
                                             "threshold": 0.5, "status": "open",
                                             "raised_at": T0 + i}))
        out.append(encode("MilestoneOutcomeEvaluated", {
            **common, "outcome_id": f"o{i}", "status": "met", "stopped_at": T0 + i + 30_000,
            "warnings_crossed": [0.5], "evaluated_at": T0 + i}))
        for window in ("1m", "15m", "today"):
            out.append(encode("MetricsSnapshotTaken", {
                "snapshot_id": f"s{i}{window}", "partition": i % 6, "tenant": tenant,
                "channel": "phone", "region": region, "office": None, "window": window,
                "window_start": T0, "window_end": T0 + 900_000, "taken_at": T0 + i,
                "offered": 100, "answered": 90, "answered_in_threshold": 80, "abandoned": 5,
                "short_abandoned": 1, "service_level": 0.8, "asa_ms": 12_000.0, "waiting": 3,
                "longest_wait_ms": 30_000, "breaches": 2}))
        i += 1
    return out[:n]


def decode_only(values: list[bytes]) -> float:
    began = time.perf_counter()
    for value in values:
        decode(value)
    return len(values) / (time.perf_counter() - began)


async def fold_and_fan_out(values: list[bytes]) -> tuple[float, int]:
    board, hub = LiveBoard(), Hub()
    subs = [hub.subscribe(Scope(("mrsk-center", "energosbyt")[p % 2],
                                region=REGIONS[p % len(REGIONS)] if p % 3 else None))
            for p in range(PAGES)]
    delivered = 0
    began = time.perf_counter()
    for start in range(0, len(values), 2000):
        updates = board.apply_batch(decode(value) for value in values[start:start + 2000])
        hub.publish(coalesce(updates))
        for sub in subs:  # what the SSE streams do: take everything queued
            while not sub.queue.empty():
                sub.queue.get_nowait()
                delivered += 1
    return len(values) / (time.perf_counter() - began), delivered


def main(n: int = 100_000) -> None:
    values = records(n)
    base = decode_only(values)
    rate, delivered = asyncio.run(fold_and_fan_out(values))
    print(f"{n} records (alerts, outcomes, metric snapshots), {PAGES} open pages")
    print(f"{'path':48} {'records/s':>12}")
    print(f"{'baseline: codec.decode only':48} {base:12,.0f}")
    print(f"{'decode + LiveBoard fold + coalesce + fan-out':48} {rate:12,.0f}")
    print(f"ratio board/decode: {rate / base:.2f}; messages handed to pages: {delivered:,}")
    print("RESULT " + json.dumps({"bench": "board", "records": n, "pages": PAGES,
                                  "board_records_per_s": round(rate),
                                  "decode_records_per_s": round(base)}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
