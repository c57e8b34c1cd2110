"""`kontakt sql "SELECT ..."`: an analyst's query against the warehouse.

While the platform runs, the query goes to the API (POST /v1/sql), whose process owns the
warehouse: with the local operator token it sees every tenant, with ``--key`` only that key's
tenant. While it is down, the command opens the warehouse itself and runs the query through
the same validator and limits (services/analytics/adhoc.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from services.errors import UserError

if TYPE_CHECKING:
    from services.settings import Settings

FORMATS = ("table", "json", "csv", "tsv", "arrow")


def sql_command(
    query: Annotated[str, typer.Argument(help="One SELECT (or WITH ... SELECT); '-' reads it "
                                         "from standard input.")],
    output_format: Annotated[str, typer.Option("--format", "-f", help="table, json, csv, tsv "
                                               "or arrow (an Arrow IPC stream).")] = "table",
    key: Annotated[str | None, typer.Option(envvar="KONTAKT_API_KEY", help="API key: see only "
                                            "its tenant's rows (default: every tenant's).")
                   ] = None,
    max_rows: Annotated[int | None, typer.Option(help="Lower the row limit "
                                                 "(KONTAKT_SQL_MAX_RESULT_ROWS).")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Lower the time limit "
                                                      "(KONTAKT_SQL_MAX_EXECUTION_S).")] = None,
) -> None:
    """Run a read-only, bounded SELECT on the warehouse and print the result."""
    from services.local.api_link import post, running_api
    from services.settings import load_settings

    if output_format not in FORMATS:
        raise UserError(f"--format {output_format!r}: use {', '.join(FORMATS)}")
    text = sys.stdin.read() if query == "-" else query
    settings = load_settings()
    wire = "tsv" if output_format == "table" else output_format
    body: dict[str, object] = {"query": text, "format": wire}
    if max_rows is not None:
        body["max_result_rows"] = max_rows
    if max_seconds is not None:
        body["max_execution_s"] = max_seconds
    api = running_api(settings)
    if api is not None:
        data = post(api, "/v1/sql", body, key=key,
                    timeout_s=settings.sql_max_execution_s + 30).content
    else:
        data = _run_locally(settings, body, key)
    _write(data, output_format)


def _run_locally(settings: Settings, body: dict[str, object], key: str | None) -> bytes:
    """The platform is down: open the warehouse here, same validator, same limits."""
    import orjson
    from pydantic import ValidationError

    from services.analytics.adhoc import SqlRefused, guarded_sql, refusal
    from services.analytics.sql_api import FORMATS as WIRE
    from services.analytics.sql_api import SqlRequest, json_body, request_limits, sql_tenant
    from services.auth import AuthError, KeyStore, key_store_path
    from services.warehouse import open_warehouse

    try:
        request = SqlRequest.model_validate(body)
    except ValidationError as exc:
        raise UserError(str(exc.errors()[0]["msg"])) from None
    tenant = None
    if key is not None:
        try:
            tenant = sql_tenant(KeyStore(key_store_path(settings.data_dir)).authenticate(key))
        except AuthError as exc:
            raise UserError(str(exc)) from None
    limits = request_limits(settings, request)
    warehouse: Any = open_warehouse(settings)
    try:
        if not hasattr(warehouse, "query_bytes"):
            raise UserError("kontakt sql needs the embedded warehouse; with a ClickHouse "
                            "server, use clickhouse-client")
        try:
            sql = guarded_sql(warehouse, request.query, tenant, limits)
            try:
                data: bytes = warehouse.query_bytes(sql, WIRE[request.format][0])
            except Exception as exc:
                raise refusal(exc) from None
        except SqlRefused as exc:
            raise UserError(f"{exc} (HTTP {exc.status_code} from the API)") from None
    finally:
        warehouse.close()
    if request.format == "json":
        return orjson.dumps(json_body(data, tenant))
    return data


def _write(data: bytes, output_format: str) -> None:
    if output_format == "table":
        _table(data.decode())
        return
    if output_format == "json":
        import orjson

        data = orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2) + b"\n"
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _table(tsv: str) -> None:
    """TSVWithNames as aligned columns (values shown as ClickHouse escapes them)."""
    rows = [line.split("\t") for line in tsv.splitlines()]
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())
        if n == 0:
            typer.echo("  ".join("-" * w for w in widths))


def register(app: typer.Typer) -> None:
    app.command(name="sql")(sql_command)
