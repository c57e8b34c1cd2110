"""The Warehouse port on a ClickHouse server through clickhouse-driver (native protocol).

Callers write the same SQL for both backends: ClickHouse's ``{name:Type}`` placeholders.
Old servers (Debian's 18.16) have no server-side parameters, so when values are given this
adapter rewrites each placeholder to ``CAST(%(name)s AS Type)`` and lets the driver bind the
value client-side with its own escaping (quotes, backslashes, NUL, newlines) -- the value
never reaches the SQL as raw text. Every literal ``%`` is doubled first so the driver's
%-formatting leaves LIKE patterns alone. Placeholders inside string literals and comments
are not touched.

``insert`` hands the rows to the driver as data (``INSERT INTO t (cols) VALUES`` + rows);
sending inline VALUES text through clickhouse-driver hangs the connection.

clickhouse-driver's Client is not thread-safe, so one lock serialises every call.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from services.adapters import sqltext
from services.errors import UserError


class DriverWarehouse:
    """A clickhouse-driver Client built from ``clickhouse://user:pass@host:port/db``."""

    def __init__(self, url: str, connect_timeout_s: float = 5.0) -> None:
        from clickhouse_driver import Client

        parts = urlsplit(url)
        if parts.scheme not in ("clickhouse", "clickhouses"):
            raise UserError(f"not a ClickHouse server URL: {_redact(url)}")
        self.url = url
        self._client = Client.from_url(url)
        self._client.connection.connect_timeout = connect_timeout_s
        self._lock = threading.Lock()
        self._server_tz: ZoneInfo | None = None

    # --- the port ------------------------------------------------------------------------
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        text, bound = _bind(sql, params)
        with self._lock:
            self._client.execute(text, bound)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        text, bound = _bind(sql, params)
        with self._lock:
            rows, types = self._client.execute(text, bound, with_column_types=True)
            zone = self._zone()
        aware = [i for i, (_, t) in enumerate(types) if _is_plain_datetime(t)]
        if not aware:
            return [tuple(r) for r in rows]
        out = []
        for row in rows:
            values = list(row)
            for i in aware:
                if isinstance(values[i], datetime) and values[i].tzinfo is None:
                    values[i] = values[i].replace(tzinfo=zone)
            out.append(tuple(values))
        return out

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        column_list = ", ".join(f"`{c}`" for c in columns)
        with self._lock:
            self._client.execute(
                f"INSERT INTO {table} ({column_list}) VALUES",
                [tuple(r) for r in rows],
                types_check=False,
            )

    def ping(self) -> bool:
        try:
            return self.query("SELECT 1") == [(1,)]
        except Exception:
            return False

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()

    def server_version(self) -> str:
        return str(self.query("SELECT version()")[0][0])

    # --- helpers -------------------------------------------------------------------------
    def _zone(self) -> ZoneInfo:
        if self._server_tz is None:
            info = self._client.connection.server_info
            self._server_tz = ZoneInfo(info.timezone if info and info.timezone else "UTC")
        return self._server_tz


def _is_plain_datetime(type_text: str) -> bool:
    inner = type_text.removeprefix("Nullable(").rstrip(")")
    return inner in ("DateTime", "DateTime64") or inner.startswith("DateTime64(")


def _bind(sql: str, params: Mapping[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """``{name:Type}`` -> ``CAST(%(name)s AS Type)``; values converted for the driver.

    Without parameters the text goes to the server verbatim, as chdb gets it: a migration's
    DDL (a parameterized view's ``{tenant:String}`` is the view's own parameter, not ours to
    bind) is one text for both backends, and the driver does no %-formatting then either."""
    found = sqltext.placeholders(sql)
    if not found or params is None:
        return sql, None
    missing = sorted({name for name, _ in found if name not in params})
    if missing:
        raise ValueError(f"query parameter(s) without a value: {', '.join(missing)}")
    text = sqltext.rewrite_placeholders(sqltext.escape_code_percent(sql), _cast)
    return text, {k: _driver_value(v) for k, v in params.items()}


def _cast(name: str, typ: str) -> str:
    """Typed like a server-side parameter; DateTime text is read as UTC, not server time."""
    if typ.replace(" ", "") in ("DateTime", "Nullable(DateTime)"):
        return f"toDateTime(%({name})s, 'UTC')"
    return f"CAST(%({name})s AS {typ})"


def _driver_value(value: Any) -> Any:
    """The driver renders a datetime in its own zone rules; send UTC text instead."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
