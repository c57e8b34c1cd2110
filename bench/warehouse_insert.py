"""Insert throughput of the two Warehouse adapters, rows/s, with the baseline measured in the
same run: chdb fed SQL VALUES text (what the adapter deliberately does not do).

Rows are contact events shaped like the sink's (strings, a DateTime, a nullable, an array),
inserted in batches into a MergeTree table both engines understand. The server backend is
Debian's clickhouse-server 18.16 started for the run in a temporary directory.

Run: .venv/bin/python bench/warehouse_insert.py [ROWS] [BATCH]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.adapters.driver_warehouse import DriverWarehouse
from services.ports import Warehouse

DDL = (
    "CREATE TABLE bench_events (event_id String, contact_id String, region String, "
    "channel String, type String, occurred_at DateTime, office Nullable(String), "
    "tags Array(String), seq UInt32) ENGINE = MergeTree ORDER BY (region, occurred_at)"
)
COLUMNS = ["event_id", "contact_id", "region", "channel", "type", "occurred_at", "office",
           "tags", "seq"]  # fmt: skip
REGIONS = ("tver", "kursk", "belgorod", "orel")
TYPES = ("received", "queued", "answered", "closed")


def make_rows(n: int) -> list[tuple[Any, ...]]:
    base = datetime(2026, 10, 1, tzinfo=UTC)
    return [
        (f"e-{i}", f"c-{i // 4}", REGIONS[i % 4], "phone", TYPES[i % 4],
         base + timedelta(seconds=i), None if i % 3 else "tver-center", ["ivr", str(i % 7)], i)
        for i in range(n)
    ]  # fmt: skip


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, list):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def values_insert(warehouse: ChdbWarehouse, rows: Sequence[Sequence[Any]]) -> None:
    """Baseline: build `INSERT ... VALUES (...)` text and run it."""
    text = ",".join("(" + ",".join(_literal(v) for v in row) + ")" for row in rows)
    warehouse.execute(f"INSERT INTO bench_events ({', '.join(COLUMNS)}) VALUES {text}")


def measure(
    warehouse: Warehouse, rows: list[tuple[Any, ...]], batch: int,
    insert: Callable[[list[tuple[Any, ...]]], None],
) -> float:  # fmt: skip
    warehouse.execute("DROP TABLE IF EXISTS bench_events")
    warehouse.execute(DDL)
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        insert(rows[i : i + batch])
    elapsed = time.perf_counter() - start
    counted = warehouse.query("SELECT count() FROM bench_events")[0][0]
    assert counted == len(rows), f"inserted {counted} of {len(rows)} rows"
    return len(rows) / elapsed


def events_rate(warehouse: ChdbWarehouse, rows: list[tuple[Any, ...]], batch: int) -> float:
    """The sink's real path: every ContactEvent column of the migrated events table."""
    from services.migrate import migrate

    migrate(warehouse)
    columns = ["event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at",
               "kind", "customer_category", "office", "agent", "queue", "topic",
               "customer_ref", "related_to", "attributes"]  # fmt: skip
    full = [(r[0], r[1], "mrsk", r[2], r[3], r[4], r[5], "inquiry", "standard", r[6], "a-17",
             "main", None, "cr_0f3a", None, {"ivr_branch": "2"}) for r in rows]  # fmt: skip
    start = time.perf_counter()
    for i in range(0, len(full), batch):
        warehouse.insert("events", columns, full[i : i + batch])
    elapsed = time.perf_counter() - start
    assert warehouse.query("SELECT count() FROM events")[0][0] == len(full)
    return len(full) / elapsed


def main(n: int = 200_000, batch: int = 50_000) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's tests package
    from tests.fixtures.clickhouse_server import ServerStartError, start_server, stop_server

    rows = make_rows(n)
    results: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        chdb = ChdbWarehouse(Path(tmp) / "chdb")
        try:
            # pyarrow imports pandas (~1.3 s) on the first timestamp column: a one-off per
            # process, kept out of the rates.
            measure(chdb, rows[:10], 10, lambda b: chdb.insert("bench_events", COLUMNS, b))
            results.append(("chdb, SQL VALUES text (baseline)",
                            measure(chdb, rows, batch, lambda b: values_insert(chdb, b))))
            results.append(("chdb adapter insert (Arrow stream)",
                            measure(chdb, rows, batch,
                                    lambda b: chdb.insert("bench_events", COLUMNS, b))))
            results.append(("chdb adapter insert into migrated `events`",
                            events_rate(chdb, rows, batch)))
        finally:
            chdb.close()
        try:
            proc, server = start_server(Path(tmp) / "server")
        except ServerStartError as exc:
            print(f"clickhouse-server unavailable, driver row skipped: {exc}")
        else:
            driver = DriverWarehouse(server.url())
            try:
                results.append((f"driver adapter insert (server {server.version})",
                                measure(driver, rows, batch,
                                        lambda b: driver.insert("bench_events", COLUMNS, b))))
            finally:
                driver.close()
                stop_server(proc)  # fmt: skip
    baseline = results[0][1]
    print(f"{n:,} rows in batches of {batch:,}")
    print(f"{'method':<48} {'rows/s':>12} {'x baseline':>11}")
    for name, rate in results:
        print(f"{name:<48} {rate:>12,.0f} {rate / baseline:>11.2f}")
    print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
        "bench": "warehouse_insert", "rows": n, "baseline_rows_per_s": round(baseline),
        "chdb_rows_per_s": round(results[1][1]), "chdb_events_rows_per_s": round(results[2][1])}))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
