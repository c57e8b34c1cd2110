"""chdb and the clickhouse-driver adapter run the same SQL text from the same migration files.

Both adapters migrate a real engine: ChdbWarehouse its own chdb, DriverWarehouse a stand-in for
clickhouse_driver.Client that does the driver's own client-side parameter substitution and
hands the final text to chdb (there is no modern server here; Debian's 18.16 cannot run the
migrations at all). Every text each adapter sends is recorded: the DDL must be the files'
statements, verbatim, on both, in the same order, and the two schemas must come out equal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.adapters.driver_warehouse import DriverWarehouse
from services.adapters.sqltext import strip_comments
from services.migrate import discover, migrate

_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)
_INSERT = re.compile(r"^INSERT INTO (\S+) \((.*)\) VALUES$")


class RecordingConnection:
    """chdb's connection, recording the text of every query."""

    def __init__(self, conn: Any, texts: list[str]) -> None:
        self._conn, self.texts = conn, texts

    def query(self, sql: str, fmt: str = "CSV", params: Mapping[str, Any] | None = None) -> Any:
        self.texts.append(sql)
        return self._conn.query(sql, fmt, params=params) if params else self._conn.query(sql, fmt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class DriverOnChdb:
    """clickhouse_driver.Client's execute(), with the driver's own substitution, on chdb."""

    def __init__(self, engine: ChdbWarehouse, texts: list[str]) -> None:
        from clickhouse_driver import Client

        self._driver = Client("localhost")  # never connects: only its substitute_params
        self.connection = self._driver.connection
        self._engine, self.texts = engine, texts

    def execute(self, query: str, params: Any = None, with_column_types: bool = False,
                types_check: bool = False) -> Any:
        insert = _INSERT.match(query)
        if insert and isinstance(params, list):
            columns = [c.strip(" `") for c in insert.group(2).split(",")]
            self.texts.append(query)
            self._engine.insert(insert.group(1), columns, params)
            return []
        text = query if params is None else self._driver.substitute_params(
            query, params, self.connection.context)
        self.texts.append(text)
        if with_column_types:
            rows = self._engine.query(text)
            return rows, [("c", "String")] * (len(rows[0]) if rows else 0)
        self._engine.execute(text)
        return []

    def disconnect(self) -> None:
        pass


def _driver_warehouse(engine: ChdbWarehouse, texts: list[str]) -> DriverWarehouse:
    warehouse = DriverWarehouse("clickhouse://localhost:1/default")  # connects on first use
    warehouse._client = DriverOnChdb(engine, texts)  # type: ignore[assignment]
    return warehouse


def _schema(warehouse: ChdbWarehouse) -> list[tuple[Any, ...]]:
    return warehouse.query(
        "SELECT name, engine, create_table_query FROM system.tables "
        "WHERE database = currentDatabase() AND name != 'kontakt_schema_migrations' "
        "ORDER BY name")


def _migrate_recorded(path: Path, through_driver: bool, ttl_days: int) -> tuple[list[str], Any]:
    texts: list[str] = []
    engine = ChdbWarehouse(path)
    try:
        if through_driver:
            migrate(_driver_warehouse(engine, texts), raw_event_ttl_days=ttl_days)
        else:
            engine._conn = RecordingConnection(engine._conn, texts)
            migrate(engine, raw_event_ttl_days=ttl_days)
        return texts, _schema(engine)
    finally:
        engine.close()


def test_chdb_and_the_driver_run_the_same_migration_text(tmp_path: Path) -> None:
    chdb_texts, chdb_schema = _migrate_recorded(tmp_path / "chdb", False, ttl_days=30)
    driver_texts, driver_schema = _migrate_recorded(tmp_path / "driver", True, ttl_days=30)
    chdb_ddl = [t for t in chdb_texts if _DDL.match(strip_comments(t))]
    driver_ddl = [t for t in driver_texts if _DDL.match(strip_comments(t))]
    files = [s for m in discover() for s in m.statements]
    assert chdb_ddl == driver_ddl
    # the migration table, each file's statements as written (comments and all), in order,
    # then the migrate-time ALTERs (time-zone defaults, the raw-event TTL)
    assert "kontakt_schema_migrations" in chdb_ddl[0]
    assert chdb_ddl[1:1 + len(files)] == files
    assert [t.split(" MODIFY ")[0] for t in chdb_ddl[1 + len(files):]] == [
        "ALTER TABLE events", "ALTER TABLE outcomes", "ALTER TABLE events"]
    assert chdb_schema == driver_schema
    assert {name for name, _, _ in chdb_schema} >= {"events", "contact_customer_time",
                                                    "sl_daily_refresh"}
