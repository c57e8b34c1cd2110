"""The Warehouse port on embedded ClickHouse (chdb 4.x), data kept in one directory.

chdb's two process-wide rules, and what this adapter does about them:

* ONE process per data directory. The engine locks ``<dir>/status``; a second process opening
  the same directory fails ("Another server instance in same directory is already running").
  We turn that into a UserError naming the directory: stop the other process (API, worker,
  a second ``kontakt`` command) or point KONTAKT_CLICKHOUSE_URL at a server.
* ONE data directory per process (``:memory:`` counts as one). Several connections to the
  same directory in one process are fine; opening a different directory while one is open is a
  UserError. Close every warehouse before opening another directory (tests do, per test).

One connection is shared by every thread that holds this object: a lock serialises calls, so
``run_in_executor`` callers are safe (chdb releases the GIL while a query runs).

Queries use ClickHouse's own server-side parameters: ``{name:Type}`` in the SQL, values in
``params``; nothing is spliced into SQL text. ``insert`` sends the rows columnar as an Arrow
stream typed from the table's declared columns (no SQL VALUES strings).
"""

from __future__ import annotations

import fcntl
import io
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from services.adapters import chtypes
from services.errors import UserError

_open_dir: dict[str, Any] = {"path": None, "count": 0}
_open_lock = threading.Lock()


class ChdbWarehouse:
    """A chdb connection on ``path`` (created if missing), safe to share across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        _check_directory(self.path)
        self._lock = threading.Lock()
        self._columns: dict[str, list[tuple[str, str]]] = {}
        self._conn: Any = _connect(self.path)
        self._closed = False

    # --- the port ------------------------------------------------------------------------
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self._run(sql, "Null", params)
        if _is_ddl(sql):
            self._columns.clear()

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        text = sql.rstrip().rstrip(";")
        with self._lock:
            raw = self._run(text, "JSONCompact", params)
        if not raw:
            return []
        doc = orjson.loads(raw)
        types = [col["type"] for col in doc["meta"]]
        return [
            tuple(chtypes.from_json(t, v) for t, v in zip(types, row, strict=True))
            for row in doc["data"]
        ]

    def query_bytes(self, sql: str, fmt: str, params: Mapping[str, Any] | None = None) -> bytes:
        """The result as ClickHouse writes it in output format ``fmt`` (CSVWithNames,
        ArrowStream, ...): an optional capability beside the port, used by POST /v1/sql."""
        with self._lock:
            return self._run_bytes(sql, fmt, params)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        declared = dict(self._table_columns(table))
        unknown = [c for c in columns if c not in declared]
        if unknown:
            raise ValueError(f"table {table} has no column(s) {', '.join(unknown)}")
        by_column = list(zip(*rows, strict=True))
        arrays = [
            chtypes.to_arrow_column(declared[name], list(values))
            for name, values in zip(columns, by_column, strict=True)
        ]
        batch = pa.table(arrays, names=list(columns))
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_table(batch)
        column_list = ", ".join(f"`{c}`" for c in columns)
        with self._lock:
            self._check_open()
            inserter = self._conn.send_insert(f"INSERT INTO {table} ({column_list})", "ArrowStream")
            try:
                inserter.append(sink.getvalue())
                inserter.finish()
            except BaseException:
                inserter.cancel()
                raise

    def insert_encoded(self, table: str, columns: Sequence[str], fmt: str, data: bytes) -> None:
        """Insert bytes already in a ClickHouse input format (e.g. an Avro container built by
        the sink from Kafka records), parsed by the engine without the GIL. An optional
        capability beside the port: the server adapter does not have it."""
        column_list = ", ".join(f"`{c}`" for c in columns)
        with self._lock:
            self._check_open()
            inserter = self._conn.send_insert(f"INSERT INTO {table} ({column_list})", fmt)
            try:
                inserter.append(data)
                inserter.finish()
            except BaseException:
                inserter.cancel()
                raise

    def ping(self) -> bool:
        try:
            return self.query("SELECT 1") == [(1,)]
        except Exception:
            return False

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()
        _release(self.path)

    def __enter__(self) -> ChdbWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers -------------------------------------------------------------------------
    def _run(self, sql: str, fmt: str, params: Mapping[str, Any] | None) -> str:
        return self._run_bytes(sql, fmt, params).decode()

    def _run_bytes(self, sql: str, fmt: str, params: Mapping[str, Any] | None) -> bytes:
        self._check_open()
        bound = {k: _param_text(v) for k, v in (params or {}).items()}
        try:
            result = (self._conn.query(sql, fmt, params=bound) if bound
                      else self._conn.query(sql, fmt))
        except Exception:
            self._drain()
            raise
        data = result.bytes() if hasattr(result, "bytes") else result
        return data if isinstance(data, bytes) else str(data or "").encode()

    def _drain(self) -> None:
        """chdb keeps what a failed query had already written (a JSON header, rows before the
        error) and prepends it to the next query's result; read it out here, so that it
        reaches neither the next caller nor another tenant."""
        try:
            self._conn.query("SELECT 1", "TSV")
        except Exception:  # the connection is broken: the next call says so
            return

    def _table_columns(self, table: str) -> list[tuple[str, str]]:
        if table not in self._columns:
            rows = self.query(
                "SELECT name, type FROM system.columns WHERE database = "
                "if({db:String} = '', currentDatabase(), {db:String}) AND table = {t:String} "
                "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
                {"db": table.rpartition(".")[0], "t": table.rpartition(".")[2]},
            )
            if not rows:
                raise ValueError(f"no such table: {table}")
            self._columns[table] = [(str(n), str(t)) for n, t in rows]
        return self._columns[table]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"warehouse {self.path} is closed")


def _is_ddl(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "EXCHANGE")


def _param_text(value: Any) -> str:
    """Server-side parameters travel as text in ClickHouse's own escaping-free form."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # naive datetimes are taken as UTC already
            value = value.astimezone(UTC)
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return f"{text}.{value.microsecond:06d}" if value.microsecond else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_array_item(v) for v in value) + "]"
    if isinstance(value, str):  # values are read in TabSeparated-escaped form
        return value.translate(_TSV_ESCAPES)
    return str(value)


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _array_item(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, date | datetime):
        return "'" + _param_text(value) + "'"
    return _param_text(value)


def _check_directory(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UserError(f"warehouse path {path} is a file, not a directory; pick another path")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create warehouse directory {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"warehouse directory {path} is not writable by this user")


def _connect(path: Path) -> Any:
    with _open_lock:
        current = _open_dir["path"]
        if current is not None and current != str(path):
            raise UserError(
                f"this process already has the chdb warehouse {current} open; chdb allows one "
                f"data directory per process, so close it before opening {path}"
            )
        from chdb.state import sqlitelike

        if current is None and _locked_by_other_process(path):
            raise _in_use(path)
        try:
            conn = sqlitelike.Connection(str(path))
        except RuntimeError as exc:
            raise _open_error(path, str(exc)) from None
        _open_dir["path"] = str(path)
        _open_dir["count"] += 1
        # Session settings: UTC for naive DateTime text, exact Decimals in JSON results.
        conn.query("SET session_timezone = 'UTC'")
        conn.query("SET output_format_json_quote_decimals = 1")
        return conn


def _release(path: Path) -> None:
    with _open_lock:
        if _open_dir["path"] == str(path):
            _open_dir["count"] -= 1
            if _open_dir["count"] <= 0:
                _open_dir["path"], _open_dir["count"] = None, 0


def _locked_by_other_process(path: Path) -> bool:
    """ClickHouse holds an exclusive flock on <dir>/status while a process has it open.

    Probed only while this process has no chdb directory open (a probe of our own lock
    would see ourselves); chdb's own failure message does not say why it failed.
    """
    status = path / "status"
    if not status.exists():
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _in_use(path: Path) -> UserError:
    return UserError(
        f"the chdb warehouse {path} is in use by another process (chdb allows one process "
        "per data directory); stop that process or set KONTAKT_CLICKHOUSE_URL to a server"
    )


def _open_error(path: Path, message: str) -> Exception:
    if "already running" in message or "Cannot lock" in message:
        return _in_use(path)
    if "Permission denied" in message or "Read-only" in message:
        return UserError(f"warehouse directory {path} is not writable: {message}")
    return RuntimeError(f"cannot open chdb warehouse {path}: {message}")
