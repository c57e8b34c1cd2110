"""The analytics API: compliance report, contact timeline, regulatory report, live metrics.

Every endpoint needs an API key with the ``read`` scope; the tenant is the key's, never a
parameter, and every query filters on it. Filters are validated in services.analytics.filters
(422 on anything malformed or unbounded) and reach ClickHouse only as bound parameters.
Handlers are plain ``def``: FastAPI runs them in its thread pool, so a slow query does not stall
the event loop (chdb releases the GIL while it works).
"""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from schemas.events import Channel, format_timestamp
from schemas.units import DAY_MS, HOUR_MS
from services.analytics import regulatory, reports
from services.analytics.filters import (
    TOKEN,
    Dimension,
    FilterError,
    parse_instant,
    report_filters,
    tokens,
    zone_for_regions,
)
from services.analytics.history import TooManyContacts
from services.analytics.params import (
    Categories,
    Channels,
    End,
    FirstDay,
    LastDay,
    Milestones,
    Offices,
    Regions,
    Start,
    enum_values,
)
from services.analytics.scope import Scope as HistoryScope
from services.analytics.sql import epoch_ms, instant, settings_clause
from services.auth import Principal, Scope, require_scope
from services.labels import LangParam, name_columns, name_rows
from services.ports import Warehouse
from services.settings import Settings
from streams.sla.regions import Lang

router = APIRouter(prefix="/v1", tags=["analytics"])
Reader = Annotated[Principal, Depends(require_scope(Scope.READ))]
GroupBy = Annotated[list[str] | None, enum_values((d.value for d in Dimension), "Group by")]
#: Contact ids as the adapters and senders make them (uuids, CRM numbers, ast-/tkt-/web-).
CONTACT_ID_PATTERN = ("^[A-Za-z0-9_.:@+=~\\-\u0400-\u04ff]"
                      "[A-Za-z0-9_.:@+=~ \\-\u0400-\u04ff]{0,255}$")
DailyGroupBy = Annotated[list[str] | None, enum_values((d.value for d in reports.DAILY_EXPR),
                                                       "Group by")]


def _warehouse(request: Request) -> Warehouse:
    warehouse = getattr(request.app.state, "warehouse", None)
    if warehouse is None:
        raise HTTPException(503, "the warehouse is not open (API starting or stopping)")
    return warehouse


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(epoch_ms(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN from an empty average
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _run(warehouse: Warehouse, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    try:
        return warehouse.query(sql, params)
    except Exception as exc:
        text = str(exc)
        if "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text:
            raise HTTPException(504, "the query took too long; narrow the time range or "
                                "filters") from None
        raise


def _records(columns: list[str], rows: list[tuple[Any, ...]], limit: int,
             lang: Lang = "ru") -> dict[str, Any]:
    """Rows as dicts, with ``region_name`` next to ``region`` (services/labels.py)."""
    data = [dict(zip(columns, (jsonable(v) for v in row), strict=True)) for row in rows[:limit]]
    return {"rows": name_rows(data, lang), "truncated": len(rows) > limit}


def _csv(columns: list[str], rows: list[dict[str, Any]], truncated: bool) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buffer.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"X-Truncated": "true" if truncated else "false",
                 "Content-Disposition": "attachment; filename=sla-compliance.csv"},
    )


@router.get("/reports/sla", summary="SLA compliance report")
def sla_report(
    request: Request,
    principal: Reader,
    start: Start,
    end: End,
    channel: Channels = None,
    region: Regions = None,
    office: Offices = None,
    category: Categories = None,
    milestone: Milestones = None,
    group_by: GroupBy = None,
    output: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "json",
    lang: LangParam = "ru",
) -> Any:
    """Counts per status and service level (met / (met + breached)) of the milestone clocks
    that started in [from, to) -- plain dates are local days, `to` included -- filtered and
    grouped by channel, region, office, category, milestone, kind, day or month (local time
    of the region), or policy_version and policy: the tenant's policy version that judged each
    clock (0 = the platform default) and the policy's name, so that periods under different
    rules are not mixed. Grouped by region, each row also names it (region_name, in
    ``lang``)."""
    settings = _settings(request)
    try:
        filters = report_filters(
            start=start, end=end, max_days=settings.query_max_days, channel=channel,
            region=region, office=office, category=category, milestone=milestone,
            group_by=group_by,
        )
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None
    limit = settings.query_max_rows
    sql, params, columns = reports.compliance(
        principal.tenant, filters, limit, settings_clause(settings.query_max_execution_s)
    )
    result = _records(columns, _run(_warehouse(request), sql, params), limit, lang)
    if output == "csv":
        return _csv(name_columns(columns), result["rows"], result["truncated"])
    return {"tenant": principal.tenant, "from": start, "to": end,
            "group_by": [d.value for d in filters.group_by], **result}


@router.get("/reports/sla/daily", summary="SLA compliance per local day (minute-fresh)")
def sla_daily_report(
    request: Request,
    principal: Reader,
    start: FirstDay,
    end: LastDay,
    channel: Channels = None,
    region: Regions = None,
    category: Categories = None,
    milestone: Milestones = None,
    group_by: DailyGroupBy = None,
    lang: LangParam = "ru",
) -> dict[str, Any]:
    """The compliance report by local day of the clock's start from the table a refreshable
    view recomputes every minute (schemas/clickhouse/011_sl_daily.sql): milliseconds instead of
    seconds at millions of clocks, at most a minute old. Office and kind are not kept there:
    use /v1/reports/sla for them. Both days are included, as with /v1/reports/sla."""
    settings = _settings(request)
    try:
        # the table is keyed by local day: the days travel as UTC midnight stamps of them
        first = parse_instant("from", start.isoformat(), "UTC")
        after = parse_instant("to", end.isoformat(), "UTC", end=True)
        filters = report_filters(
            start=format_timestamp(first), end=format_timestamp(after),
            max_days=settings.query_max_days, channel=channel, region=region,
            category=category, milestone=milestone, group_by=group_by)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None
    missing = [d.value for d in filters.group_by if d not in reports.DAILY_EXPR]
    if missing:
        raise HTTPException(422, f"group_by {missing} is not kept per day; use /v1/reports/sla")
    limit = settings.query_max_rows
    sql, params, columns = reports.daily(principal.tenant, filters, limit,
                                         settings_clause(settings.query_max_execution_s))
    warehouse = _warehouse(request)
    result = _records(columns, _run(warehouse, sql, params), limit, lang)
    refreshed = _run(warehouse, f"SELECT {reports.LATEST_REFRESH}", {})
    return {"tenant": principal.tenant, "refreshed_at": jsonable(refreshed[0][0]),
            "group_by": [d.value for d in filters.group_by], **result}


@router.get("/contacts/{contact_id}/timeline", summary="Everything that happened to a contact")
def contact_timeline(
    request: Request,
    principal: Reader,
    contact_id: Annotated[str, Path(
        max_length=256, json_schema_extra={"pattern": CONTACT_ID_PATTERN},
        examples=["ast-1764230400.1742", "tkt-tver-1-0142"],
        description="The contact's id as its source sent it: printable, no quotes, ';', '\\' "
                    "or '/' (the pattern: the usual alphabet; other printable ones pass).")],
    lang: LangParam = "ru",
) -> dict[str, Any]:
    """All events, the current clock of each milestone and every alert of one contact."""
    if not TOKEN.match(contact_id) and not _is_plain_id(contact_id):
        raise HTTPException(422, "contact_id: not a valid identifier")
    settings = _settings(request)
    warehouse = _warehouse(request)
    bounds = settings_clause(settings.query_max_execution_s)
    params = {"tenant": principal.tenant, "contact_id": contact_id,
              "limit": settings.query_max_rows}
    events = _run(warehouse, reports.timeline_events(bounds), params)
    if not events:
        raise HTTPException(404, f"no contact {contact_id!r} for this tenant")
    clocks = _run(warehouse, reports.timeline_outcomes(bounds), params)
    alerts = _run(warehouse, reports.timeline_alerts(bounds), params)
    event_cols = ["event_id", "type", "occurred_at", "channel", "region", "kind",
                  "customer_category", "office", "agent", "queue", "topic", "attributes"]
    clock_cols = ["milestone", *reports.TIMELINE_CLOCK_COLUMNS]
    alert_cols = ["alert_id", "alert", "milestone", "status", "threshold", "elapsed_ms",
                  "target_ms", "at"]
    return {
        "contact_id": contact_id,
        "events": _records(event_cols, events, settings.query_max_rows, lang)["rows"],
        "clocks": _records(clock_cols, clocks, settings.query_max_rows)["rows"],
        "alerts": _records(alert_cols, alerts, settings.query_max_rows)["rows"],
    }


def _is_plain_id(value: str) -> bool:
    """Contact ids are sender-chosen (uuid, CRM number): printable, no quotes or controls."""
    return 0 < len(value) <= 256 and value.isprintable() and not set(value) & set("'\"`;\\")


@router.get("/reports/regulatory", summary="Appeals by channel, year N vs N-1")
def regulatory_report(
    request: Request,
    principal: Reader,
    year: Annotated[int, Query(ge=2000, le=2100, description="The report year N")],
    region: Regions = None,
    service_levels: Annotated[bool, Query(
        description="Add the service levels of year N's contacts per milestone (for a grid "
                    "company re-evaluated under order 186; false: the counts only)")] = True,
) -> dict[str, Any]:
    """Appeals, complaints and service requests by channel for year N and N-1 (order 186,
    appendix 7), counted once per contact, by the local year of its first event.

    With ``service_levels`` (the default), also per milestone the service level of the
    contacts whose first event is in local year N: ``regulatory`` is the figure to report --
    for a grid company (the key's tenant type) its contacts re-evaluated under the
    minenergo-186 preset whatever its own, maybe stricter, targets, with ``own_policy`` (the
    outcomes as its own policy versions judged them) beside it; for other tenants their own
    (services/analytics/regulatory.py)."""
    settings = _settings(request)
    try:
        regions = tokens("region", region)
        zone = zone_for_regions(regions)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None
    params: dict[str, Any] = {
        "tenant": principal.tenant, "year": year,
        # a day of margin each side: the local year of a UTC instant may differ by hours
        "start": datetime(year - 2, 12, 31), "end": datetime(year + 1, 1, 2),
    }
    if regions:
        params["regions"] = list(regions)
    sql = reports.regulatory(bool(regions), settings_clause(settings.query_max_execution_s))
    rows = _run(_warehouse(request), sql, params)
    by_channel: dict[str, dict[str, Any]] = {
        c.value: {"channel": c.value} for c in Channel
    }
    for channel, row_year, appeals, complaints, service_requests in rows:
        key = "year" if row_year == year else "previous_year"
        by_channel.setdefault(channel, {"channel": channel})[key] = {
            "appeals": appeals, "complaints": complaints, "service_requests": service_requests,
        }
    empty = {"appeals": 0, "complaints": 0, "service_requests": 0}
    out = []
    for entry in by_channel.values():
        current, previous = entry.get("year", empty), entry.get("previous_year", empty)
        out.append({
            "channel": entry["channel"], str(year): current, str(year - 1): previous,
            "change": {k: current[k] - previous[k] for k in empty},
        })
    report: dict[str, Any] = {"tenant": principal.tenant, "year": year, "rows": out}
    if service_levels:
        scope = HistoryScope(principal.tenant, parse_instant("year", f"{year}-01-01", zone),
                             parse_instant("year", f"{year}-12-31", zone, end=True), regions)
        try:
            levels = regulatory.service_levels(
                _warehouse(request), principal.tenant_type, scope,
                settings_sql=settings_clause(settings.query_max_execution_s),
                max_contacts=settings.whatif_max_contacts)
        except TooManyContacts as exc:
            raise HTTPException(422, f"service levels: {exc} (name regions, or "
                                "service_levels=false for the counts)") from None
        report["service_levels"] = {
            "basis": levels.basis, "contacts": levels.contacts,
            "as_of": None if levels.as_of is None else format_timestamp(levels.as_of),
            "rows": levels.rows}
    return report


@router.get("/metrics/live", summary="Live contact-centre figures")
def live_metrics(
    request: Request,
    principal: Reader,
    window: Annotated[str, Query(pattern="^(1m|15m|today)$")] = "today",
    channel: Channels = None,
    region: Regions = None,
    lang: LangParam = "ru",
) -> dict[str, Any]:
    """The newest snapshot per channel x region x office for the window kind, summed over the
    stream workers (service level = answered within target / (offered - short abandons))."""
    settings = _settings(request)
    try:
        filters = report_filters(start="1970-01-01T00:00:00Z", end="1970-01-02T00:00:00Z",
                                 max_days=1, channel=channel, region=region)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None
    lookback_ms = 2 * DAY_MS if window == "today" else HOUR_MS
    params: dict[str, Any] = {
        "tenant": principal.tenant, "window": window, "limit": settings.query_max_rows,
        "since": instant(int(time.time() * 1000) - lookback_ms),
    }
    if filters.channels:
        params["channels"] = list(filters.channels)
    if filters.regions:
        params["regions"] = list(filters.regions)
    sql = reports.live_metrics(bool(filters.channels), bool(filters.regions),
                               settings_clause(settings.query_max_execution_s))
    rows = name_rows((_live_row(r) for r in _run(_warehouse(request), sql, params)), lang)
    return {"tenant": principal.tenant, "window": window, "rows": rows}


def _live_row(row: tuple[Any, ...]) -> dict[str, Any]:
    (channel, region, office, window, start, end, taken, offered, answered, abandoned,
     short, within, wait_sum, longest, waiting, breaches) = row
    counted = offered - short
    return {
        "channel": channel, "region": region, "office": office or None, "window": window,
        "window_start": jsonable(start), "window_end": jsonable(end), "taken_at": jsonable(taken),
        "offered": offered, "answered": answered, "abandoned": abandoned,
        "short_abandoned": short, "answered_within_target": within,
        "service_level": within / counted if counted > 0 else None,
        "asa_seconds": wait_sum / answered / 1000 if answered else None,
        "longest_wait_seconds": longest / 1000, "waiting": waiting, "breaches": breaches,
    }
