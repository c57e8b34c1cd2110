"""Open the configured warehouse: embedded chdb or a ClickHouse server, chosen by URL.

``chdb:///absolute/path`` -> :class:`~services.adapters.chdb_warehouse.ChdbWarehouse`;
``clickhouse://user:password@host:9000/database`` ->
:class:`~services.adapters.driver_warehouse.DriverWarehouse`. A server that cannot be reached
is one clear UserError line (host, port, reason), never a driver traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from services.errors import UserError
from services.ports import Warehouse
from services.settings import Settings


def open_warehouse(settings_or_url: Settings | str) -> Warehouse:
    """The Warehouse for ``settings.warehouse_url`` (or a URL given directly), connected."""
    url = settings_or_url if isinstance(settings_or_url, str) else settings_or_url.warehouse_url
    scheme = urlsplit(url).scheme
    if scheme == "chdb":
        from services.adapters.chdb_warehouse import ChdbWarehouse

        return ChdbWarehouse(chdb_path(url))
    if scheme in ("clickhouse", "clickhouses"):
        return _open_server(url)
    raise UserError(
        f"unsupported warehouse URL {url!r}: use chdb:///absolute/path or "
        "clickhouse://user:password@host:9000/database"
    )


def chdb_path(url: str) -> Path:
    """chdb:///abs/path -> /abs/path (a relative path is refused: it depends on the cwd)."""
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    if not path.startswith("/"):
        raise UserError(f"chdb URL needs an absolute path, like chdb:///var/lib/kontakt: {url}")
    return Path(path)


def _open_server(url: str) -> Warehouse:
    from clickhouse_driver.errors import Error as DriverError

    from services.adapters.driver_warehouse import DriverWarehouse, _redact

    warehouse = DriverWarehouse(url)
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 9000}"
    quiet = logging.getLogger("clickhouse_driver.connection")  # logs a traceback per attempt
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        warehouse.query("SELECT 1")
    except (DriverError, OSError, EOFError) as exc:
        warehouse.close()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"cannot reach ClickHouse at {where} ({_redact(url)}): {reason[:200]}; "
            "start the server or fix KONTAKT_CLICKHOUSE_URL"
        ) from None
    finally:
        quiet.setLevel(level)
    return warehouse
