"""The Warehouse port's contract: one abstract suite, run against embedded chdb (26.x) and a
real Debian clickhouse-server 18.16 through clickhouse-driver.

Only SQL and types both engines understand appear here (18.16: no DateTime64, Map, JSON,
LowCardinality without a setting, server-side parameters), so the suite states what the
services may rely on from either backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.adapters.driver_warehouse import DriverWarehouse
from services.ports import Warehouse
from tests.fixtures.clickhouse_server import ClickHouseServer

HOSTILE = [
    "'; DROP TABLE x; --",
    "Robert'); DROP TABLE students;--",
    "back\\slash",
    "\\'",
    "tab\there",
    "new\nline\r",
    'double"quote',
    "{x:String}",
    "%(x)s %s %",
    "nul\x00byte",
    "юникод ☎",
    "",
]

TABLE_DDL = (
    "CREATE TABLE {name} (id UInt64, name String, amount Float64, day Date, at DateTime, "
    "note Nullable(String), tags Array(String), delta Int64) ENGINE = MergeTree ORDER BY id"
)
COLUMNS = ["id", "name", "amount", "day", "at", "note", "tags", "delta"]
BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _rows(n: int) -> list[tuple[object, ...]]:
    return [
        (
            i,
            HOSTILE[i % len(HOSTILE)] + str(i),
            i * 0.25,
            date(2026, 3, 1) + timedelta(days=i % 31),
            BASE + timedelta(seconds=i),
            None if i % 3 else f"n{i}",
            [f"t{i % 5}", "x"],
            -i,
        )
        for i in range(n)
    ]


class WarehouseContract:
    """Subclasses provide the ``warehouse`` fixture (an empty database, closed afterwards)."""

    def test_ping(self, warehouse: Warehouse) -> None:
        assert warehouse.ping() is True

    def test_execute_then_query(self, warehouse: Warehouse) -> None:
        warehouse.execute(TABLE_DDL.format(name="t_exec"))
        warehouse.execute(
            "INSERT INTO t_exec (id, name, amount, day, at, note, tags, delta) "
            "SELECT number, toString(number), number / 2, toDate('2026-03-01'), "
            "toDateTime('2026-03-01 09:00:00', 'UTC'), NULL, ['a'], -1 FROM system.numbers "
            "LIMIT 10"
        )
        assert warehouse.query("SELECT count(), sum(id), sum(amount) FROM t_exec") == [
            (10, 45, 22.5)
        ]
        assert warehouse.query("SELECT id FROM t_exec WHERE id > 100") == []

    @pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
    def test_hostile_string_parameter_round_trips(self, warehouse: Warehouse, value: str) -> None:
        rows = warehouse.query("SELECT {v:String}, length({v:String})", {"v": value})
        assert rows == [(value, len(value.encode()))]

    def test_hostile_parameter_in_where_is_data_not_sql(self, warehouse: Warehouse) -> None:
        warehouse.execute(TABLE_DDL.format(name="victim"))
        warehouse.insert("victim", COLUMNS, _rows(len(HOSTILE)))
        for value in HOSTILE:
            warehouse.execute("SELECT count() FROM victim WHERE name = {v:String}", {"v": value})
        found = warehouse.query(
            "SELECT count() FROM victim WHERE name = {v:String}", {"v": HOSTILE[0] + "0"}
        )
        assert found == [(1,)]
        assert warehouse.query("SELECT count() FROM victim") == [(len(HOSTILE),)]

    def test_placeholders_in_literals_and_comments_are_text(self, warehouse: Warehouse) -> None:
        rows = warehouse.query(
            "SELECT '{v:String}', 'a%b' LIKE '%b', {v:String} -- {w:String} 100%\n",
            {"v": "real"},
        )
        assert rows == [("{v:String}", 1, "real")]

    def test_typed_parameters(self, warehouse: Warehouse) -> None:
        at = datetime(2026, 1, 31, 23, 59, 58, tzinfo=UTC)
        rows = warehouse.query(
            "SELECT {n:UInt64}, {i:Int64}, {f:Float64}, {d:Date}, {t:DateTime}, "
            "{a:Array(String)}, toTypeName({d:Date})",
            {
                "n": 2**64 - 1,
                "i": -(2**63),
                "f": 0.1,
                "d": date(2024, 2, 29),
                "t": at,
                "a": ["x'y", "z\\w"],
            },
        )
        assert rows == [(2**64 - 1, -(2**63), 0.1, date(2024, 2, 29), at, ["x'y", "z\\w"], "Date")]

    def test_missing_parameter_is_an_error(self, warehouse: Warehouse) -> None:
        with pytest.raises(Exception, match="v"):
            warehouse.query("SELECT {v:String}", {})

    def test_bad_sql_raises(self, warehouse: Warehouse) -> None:
        with pytest.raises(Exception, match="(?i)syntax"):
            warehouse.query("SELEC 1")
        assert warehouse.ping() is True  # the connection survives the error

    def test_insert_many_rows_and_count(self, warehouse: Warehouse) -> None:
        warehouse.execute(TABLE_DDL.format(name="bulk"))
        rows = _rows(20_000)
        warehouse.insert("bulk", COLUMNS, rows)
        warehouse.insert("bulk", COLUMNS, [])  # an empty batch is a no-op
        got = warehouse.query(
            "SELECT count(), sum(id), sum(amount), countIf(note IS NULL), sum(delta), "
            "max(at), uniqExact(name) FROM bulk"
        )
        assert got == [
            (
                20_000,
                sum(r[0] for r in rows),  # type: ignore[misc]
                sum(r[2] for r in rows),  # type: ignore[misc]
                sum(1 for r in rows if r[5] is None),
                sum(r[7] for r in rows),  # type: ignore[misc]
                BASE + timedelta(seconds=19_999),
                20_000,
            )
        ]

    def test_types_round_trip(self, warehouse: Warehouse) -> None:
        warehouse.execute(TABLE_DDL.format(name="types"))
        rows = _rows(13)
        warehouse.insert("types", COLUMNS, rows)
        back = warehouse.query(f"SELECT {', '.join(COLUMNS)} FROM types ORDER BY id")
        assert back == rows
        one = back[1]
        assert isinstance(one[3], date) and not isinstance(one[3], datetime)
        assert isinstance(one[4], datetime) and one[4].utcoffset() == timedelta(0)
        assert one[5] is None and isinstance(one[6], list)

    def test_server_computed_types(self, warehouse: Warehouse) -> None:
        rows = warehouse.query(
            "SELECT toDecimal64(1.25, 2), toDateTime('2026-01-01 03:00:00', 'Europe/Moscow'), "
            "toUInt8(1) = 1, [1, 2], (1, 'a'), NULL"
        )
        ((dec, moscow, truth, arr, tup, null),) = rows
        assert dec == Decimal("1.25")
        assert moscow == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
        assert (truth, arr, tup, null) == (1, [1, 2], (1, "a"), None)

    def test_insert_unknown_column_fails(self, warehouse: Warehouse) -> None:
        warehouse.execute(TABLE_DDL.format(name="strict"))
        with pytest.raises(Exception, match="nope"):
            warehouse.insert("strict", ["id", "nope"], [(1, "x")])

    def test_shared_across_threads(self, warehouse: Warehouse) -> None:
        warehouse.execute(TABLE_DDL.format(name="threads"))
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for j in range(5):
                    base = (k * 5 + j) * 100
                    batch: list[tuple[object, ...]] = [
                        (base + i, "x", 1.0, date(2026, 1, 1), BASE, None, [], 0)
                        for i in range(100)
                    ]
                    warehouse.insert("threads", COLUMNS, batch)
                    warehouse.query(
                        "SELECT count() FROM threads WHERE name = {n:String}", {"n": "x"}
                    )
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert warehouse.query("SELECT count(), uniqExact(id) FROM threads") == [(2000, 2000)]


class TestChdbWarehouse(WarehouseContract):
    @pytest.fixture
    def warehouse(self, tmp_path: Path) -> Iterator[Warehouse]:
        warehouse = ChdbWarehouse(tmp_path / "wh")
        try:
            yield warehouse
        finally:
            warehouse.close()


@pytest.mark.clickhouse_server
class TestDriverWarehouse(WarehouseContract):
    @pytest.fixture
    def warehouse(self, clickhouse_server_url: str) -> Iterator[Warehouse]:
        warehouse = DriverWarehouse(clickhouse_server_url)
        try:
            yield warehouse
        finally:
            warehouse.close()

    def test_is_the_debian_server(self, clickhouse_server: ClickHouseServer) -> None:
        assert clickhouse_server.version.startswith("18.16")
