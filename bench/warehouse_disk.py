"""ClickHouse disk per million contacts, measured on chdb: a simulated history (the
simulator's utilities, every channel) goes into a migrated warehouse's events table the way the
sink writes it (services/sink/rows.py), `kontakt backfill`'s function derives contacts and
outcomes (and the materialized daily/hourly statistics) from it, every table is merged
(OPTIMIZE FINAL: what background merges converge to), and the bytes of the active parts are
divided by the number of contacts. alerts and metrics are written by the worker, not here:
alerts grow with breaches (about one row per warning or breach), metrics with
windows x regions x channels, not with contacts.

Run: .venv/bin/python bench/warehouse_disk.py [DAYS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from schemas.codec import event_to_datum
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.backfill import backfill
from services.analytics.scope import Scope
from services.migrate import migrate
from services.simulator.generate import generate
from services.simulator.model import SimConfig
from services.sink.rows import EVENT_COLUMNS, event_rows
from streams.sla.policy import load_policy

START_MS = 1_790_812_800_000  # 2026-10-01T00:00:00Z: a fixed start, the same bytes every run
BATCH = 50_000


def main(days: float = 7.0) -> None:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = ChdbWarehouse(Path(tmp) / "warehouse")
        try:
            migrate(warehouse)
            rows: list[tuple[object, ...]] = []
            events = 0
            for event in generate(SimConfig(seed=7, start_ms=START_MS, days=days)):
                rows.extend(row for _, row in event_rows(event_to_datum(event)))
                if len(rows) >= BATCH:
                    warehouse.insert("events", EVENT_COLUMNS, rows)
                    events += len(rows)
                    rows = []
            if rows:
                warehouse.insert("events", EVENT_COLUMNS, rows)
                events += len(rows)
            result = backfill(warehouse, load_policy("rao-ues-2007"), Scope(),
                              evaluated_at=START_MS + int(days * 86_400_000))
            tables = [t for (t,) in warehouse.query(
                "SELECT name FROM system.tables WHERE database = currentDatabase() "
                "AND engine LIKE '%MergeTree' ORDER BY name")]
            for table in tables:
                warehouse.execute(f"OPTIMIZE TABLE {table} FINAL")
            sizes = warehouse.query(
                "SELECT table, sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes) "
                "FROM system.parts WHERE active AND database = currentDatabase() "
                "GROUP BY table HAVING sum(rows) > 0 ORDER BY sum(bytes_on_disk) DESC")
        finally:
            warehouse.close()
    contacts = result.contacts
    per_million = 1_000_000 / contacts
    print(f"{days:g} simulated days: {events:,} events, {contacts:,} contacts, "
          f"{result.outcomes:,} outcomes ({time.perf_counter() - began:.0f} s)")
    print(f"{'table':<24}{'rows':>12}{'on disk':>12}{'per 1M contacts':>18}{'compression':>13}")
    total = 0
    for table, n, disk, raw in sizes:
        total += disk
        print(f"{table:<24}{n:>12,}{disk / 2**20:>10.1f}MB{disk * per_million / 2**20:>16.0f}MB"
              f"{raw / max(disk, 1):>12.1f}x")
    print(f"{'total':<24}{'':>12}{total / 2**20:>10.1f}MB{total * per_million / 2**20:>16.0f}MB")
    print(f"events per contact: {events / contacts:.2f}; "
          f"bytes per contact: {total / contacts:.0f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 7.0)
