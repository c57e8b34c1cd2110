"""POST /v1/sql: an analyst's SELECT, run read-only and bounded by the process that owns the
warehouse (with embedded chdb nobody else can open it while the platform runs).

A key with ``read`` sees its own tenant's rows only (services/analytics/adhoc.py says how);
one with ``sql-all`` (an operator's analyst, or the local operator token) sees every tenant's.
Limits default to KONTAKT_SQL_*; a request may lower them, never raise them (asking for more
gets the setting).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.analytics.adhoc import MAX_QUERY_CHARS, Limits, SqlRefused, guarded_sql, refusal
from services.auth import Principal, Scope, require_scope
from services.settings import Settings

router = APIRouter(prefix="/v1", tags=["sql"])
Reader = Annotated[Principal, Depends(require_scope(Scope.READ))]

#: request format -> (ClickHouse output format, media type)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("JSONCompact", "application/json"),
    "csv": ("CSVWithNames", "text/csv; charset=utf-8"),
    "tsv": ("TSVWithNames", "text/tab-separated-values; charset=utf-8"),
    "arrow": ("ArrowStream", "application/vnd.apache.arrow.stream"),
}


class SqlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS,
                       description="One SELECT (or WITH ... SELECT) over the warehouse's tables.",
                       examples=["SELECT channel, count() FROM events GROUP BY channel"])
    format: Literal["json", "csv", "tsv", "arrow"] = "json"
    max_execution_s: float | None = Field(None, ge=0.01, description="Lower the time limit "
                                          "(s); above KONTAKT_SQL_MAX_EXECUTION_S it is that.")
    max_result_rows: int | None = Field(None, ge=1, description="Lower the row limit (a larger "
                                        "result is refused with 422, not cut); above "
                                        "KONTAKT_SQL_MAX_RESULT_ROWS it is that.")
    max_memory_bytes: int | None = Field(None, ge=1 << 20, description="Lower the memory "
                                         "limit; above KONTAKT_SQL_MAX_MEMORY_BYTES it is that.")


def request_limits(settings: Settings, body: SqlRequest) -> Limits:
    """The request's limits: each one the setting's or lower -- a request asking for more gets
    the setting (the X-Kontakt-Limits header says what applied)."""
    def lowered(asked: float | None, ceiling: float) -> float:
        return ceiling if asked is None else min(asked, ceiling)

    return Limits(float(lowered(body.max_execution_s, settings.sql_max_execution_s)),
                  int(lowered(body.max_result_rows, settings.sql_max_result_rows)),
                  int(lowered(body.max_memory_bytes, settings.sql_max_memory_bytes)))


def sql_tenant(principal: Principal) -> str | None:
    """The tenant whose rows the principal may see; None: every tenant's."""
    return None if principal.allows(Scope.SQL_ALL) else principal.tenant


@router.post("/sql", summary="Run an analyst's SELECT (read-only, bounded, tenant-filtered)",
             responses={200: {"content": {m: {} for _, m in FORMATS.values()}}})
def run_sql(request: Request, principal: Reader, body: SqlRequest) -> Response:
    """Runs one SELECT read-only with the API's limits and returns its rows: ``json``
    (columns with ClickHouse types, rows as arrays), ``csv``/``tsv`` (with a header row) or
    ``arrow`` (an Arrow IPC stream). Refused queries get 400/403 saying why; a limit reached
    gets 422."""
    settings: Settings = request.app.state.settings
    warehouse = getattr(request.app.state, "warehouse", None)
    if warehouse is None:
        raise HTTPException(503, "the warehouse is not open (API starting or stopping)")
    if not hasattr(warehouse, "query_bytes"):
        raise HTTPException(501, "ad-hoc SQL through the API needs the embedded warehouse; "
                            "with a ClickHouse server, query the server directly")
    limits = request_limits(settings, body)
    tenant = sql_tenant(principal)
    fmt, media_type = FORMATS[body.format]
    try:
        sql = guarded_sql(warehouse, body.query, tenant, limits)
        try:
            data = warehouse.query_bytes(sql, fmt)
        except Exception as exc:
            raise refusal(exc) from None
    except SqlRefused as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    headers = {"X-Kontakt-Tenant": tenant or "*",
               "X-Kontakt-Limits": f"max_execution_s={limits.max_execution_s}, "
                                   f"max_result_rows={limits.max_result_rows}, "
                                   f"max_memory_bytes={limits.max_memory_bytes}"}
    if body.format != "json":
        return Response(data, media_type=media_type, headers=headers)
    return Response(orjson.dumps(json_body(data, tenant)), media_type=media_type,
                    headers=headers)


def json_body(data: bytes, tenant: str | None) -> dict[str, Any]:
    empty: dict[str, Any] = {"meta": [], "data": [], "rows": 0}
    doc: dict[str, Any] = orjson.loads(data) if data.strip() else empty
    return {
        "tenant": tenant,
        "columns": [{"name": c["name"], "type": c["type"]} for c in doc["meta"]],
        "rows": doc["data"],
        "row_count": doc.get("rows", len(doc["data"])),
        "elapsed_s": doc.get("statistics", {}).get("elapsed"),
    }
