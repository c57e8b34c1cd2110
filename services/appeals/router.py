"""Appeal and remediation reports: /v1/reports/appeals, /v1/appeals, /v1/reports/categories,
/v1/reports/remediation/{root-causes,overdue,recurrences}.

Same contract as services/analytics/router.py: the ``read`` scope, the key's tenant (never a
parameter), validated filters (422), bound parameters only, a row limit with ``truncated``,
and ``format=csv`` for a spreadsheet. Appeal figures need the appeal_links projection
(`kontakt appeals link`); docs/appeals.md says how fresh it is.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from services.analytics.filters import FilterError, parse_instant, report_filters, split_values
from services.analytics.params import (
    At,
    Categories,
    Channels,
    End,
    Offices,
    Regions,
    Start,
    enum_values,
)
from services.analytics.router import jsonable
from services.analytics.sql import instant, settings_clause
from services.appeals import queries, remediation_sql
from services.auth import Principal, Scope, require_scope
from services.labels import LangParam, name_columns, name_rows
from services.ports import Warehouse
from services.settings import Settings
from streams.sla.regions import Lang
from streams.sla.remediation import load_remediation

router = APIRouter(prefix="/v1", tags=["appeals"])
Reader = Annotated[Principal, Depends(require_scope(Scope.READ))]
GroupBy = Annotated[list[str] | None, enum_values(queries.APPEAL_DIMENSIONS, "Group by")]
Output = Annotated[str, Query(alias="format", pattern="^(json|csv)$")]


def _context(request: Request) -> tuple[Settings, Warehouse]:
    warehouse = getattr(request.app.state, "warehouse", None)
    if warehouse is None:
        raise HTTPException(503, "the warehouse is not open (API starting or stopping)")
    return request.app.state.settings, warehouse


def _answer(
    name: str, columns: list[str], rows: list[tuple[Any, ...]], limit: int, output: str,
    head: dict[str, Any], lang: Lang = "ru",
) -> Any:
    """JSON or CSV rows; a ``region`` column gets ``region_name`` after it (services/labels.py)."""
    data = [dict(zip(columns, (jsonable(v) for v in row), strict=True)) for row in rows[:limit]]
    data = name_rows(data, lang)
    truncated = len(rows) > limit
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=name_columns(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "|".join(v) if isinstance(v, list) else v for k, v in r.items()}
                         for r in data)  # fmt: skip
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "X-Truncated": "true" if truncated else "false",
            "Content-Disposition": f"attachment; filename={name}.csv"})  # fmt: skip
    return {**head, "rows": data, "truncated": truncated}


def _filters(settings: Settings, start: str, end: str, **values: Any) -> Any:
    try:
        return report_filters(start=start, end=end, max_days=settings.query_max_days, **values)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None


def _group_by(raw: list[str] | None) -> list[str]:
    names = split_values(raw)
    bad = [n for n in names if n not in queries.APPEAL_DIMENSIONS]
    if bad:
        raise HTTPException(422, f"group_by: {bad[0][:40]!r} is not one of "
                            f"{sorted(queries.APPEAL_DIMENSIONS)}")
    return list(dict.fromkeys(names))


@router.get("/reports/appeals", summary="Customer time and first-contact resolution")
def appeal_report(
    request: Request, principal: Reader, start: Start, end: End, channel: Channels = None,
    region: Regions = None, office: Offices = None, category: Categories = None,
    group_by: GroupBy = None, output: Output = "json", lang: LangParam = "ru",
) -> Any:
    """Appeals started in [from, to): contacts per appeal, the customer's summed waits and the
    first-contact-resolution rate, grouped by channel, region, office and/or category."""
    settings, warehouse = _context(request)
    filters = _filters(settings, start, end, channel=channel, region=region, office=office,
                       category=category)  # fmt: skip
    dims = _group_by(group_by)
    limit = settings.query_max_rows
    sql, columns = queries.summary(filters, dims, limit,
                                   settings_clause(settings.query_max_execution_s))
    rows = warehouse.query(sql, queries.params(principal.tenant, filters))
    return _answer("appeals", columns, rows, limit, output,
                   {"tenant": principal.tenant, "from": start, "to": end, "group_by": dims},
                   lang)


@router.get("/appeals", summary="The appeals themselves")
def appeal_list(
    request: Request, principal: Reader, start: Start, end: End, channel: Channels = None,
    region: Regions = None, office: Offices = None, category: Categories = None,
    min_contacts: Annotated[int, Query(ge=1, le=1000)] = 1, output: Output = "json",
    lang: LangParam = "ru",
) -> Any:
    """Each appeal started in [from, to) with its contacts, waits and FCR (min_contacts=2:
    only the appeals that took the customer more than one contact)."""
    settings, warehouse = _context(request)
    filters = _filters(settings, start, end, channel=channel, region=region, office=office,
                       category=category)  # fmt: skip
    limit = settings.query_max_rows
    sql, columns = queries.appeal_list(filters, limit,
                                       settings_clause(settings.query_max_execution_s))
    rows = warehouse.query(sql, {**queries.params(principal.tenant, filters),
                                 "min_contacts": min_contacts})  # fmt: skip
    return _answer("appeal-list", columns, rows, limit, output,
                   {"tenant": principal.tenant, "from": start, "to": end}, lang)


@router.get("/reports/categories", summary="Disabled, veteran, vulnerable vs everyone else")
def category_report(
    request: Request, principal: Reader, start: Start, end: End, channel: Channels = None,
    region: Regions = None, output: Output = "json",
) -> Any:
    """Per customer category, side by side: SLA clocks decided and breached (outcomes that
    started in the period), and appeals, the customer's average wait and the FCR rate. The
    `priority` column marks the categories the standard asks an individual approach for."""
    settings, warehouse = _context(request)
    filters = _filters(settings, start, end, channel=channel, region=region)
    sql, columns = queries.categories(filters, settings_clause(settings.query_max_execution_s))
    rows = warehouse.query(sql, queries.params(principal.tenant, filters))
    return _answer("categories", columns, rows, settings.query_max_rows, output,
                   {"tenant": principal.tenant, "from": start, "to": end})


def _instant(name: str, raw: str | None) -> int:
    if raw is None:
        return int(time.time() * 1000)
    try:
        return parse_instant(name, raw)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None


def _remediation_params(request: Request, tenant: str, at: int) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    rules = load_remediation(settings.data_dir)
    return {"tenant": tenant, "at": instant(at), "complete_ms": rules.complete_ms,
            "plan_ms": rules.plan_ms, "verify_ms": rules.verify_ms,
            "max_days": settings.query_max_days}  # fmt: skip


@router.get("/reports/remediation/root-causes", summary="Complaint root causes by region/month")
def root_causes(
    request: Request, principal: Reader, start: Start, end: End, output: Output = "json",
    lang: LangParam = "ru",
) -> Any:
    """Complaints first received in [from, to), counted by region, local month and root cause
    (attribute root_cause of the complaint's events; 'unclassified' when none)."""
    settings, warehouse = _context(request)
    filters = _filters(settings, start, end)
    sql = remediation_sql.bounded(remediation_sql.ROOT_CAUSES, settings.query_max_rows,
                                  settings_clause(settings.query_max_execution_s))
    rows = warehouse.query(sql, queries.params(principal.tenant, filters))
    labels = dict(load_remediation(settings.data_dir).root_causes)
    return _answer("root-causes", remediation_sql.ROOT_CAUSE_COLUMNS, rows,
                   settings.query_max_rows, output,
                   {"tenant": principal.tenant, "from": start, "to": end, "labels": labels},
                   lang)


@router.get("/reports/remediation/overdue", summary="Open corrective actions past due")
def overdue_actions(
    request: Request, principal: Reader,
    at: At = None,
    output: Output = "json", lang: LangParam = "ru",
) -> Any:
    """Corrective actions planned (in the last query_max_days) and not completed at `at`
    whose due date has passed (the tenant's deadlines.complete when the plan named none)."""
    settings, warehouse = _context(request)
    when = _instant("at", at)
    sql = remediation_sql.bounded(remediation_sql.OVERDUE, settings.query_max_rows,
                                  settings_clause(settings.query_max_execution_s))
    rows = warehouse.query(sql, _remediation_params(request, principal.tenant, when))
    return _answer("overdue-actions", remediation_sql.OVERDUE_COLUMNS, rows,
                   settings.query_max_rows, output,
                   {"tenant": principal.tenant, "at": jsonable(instant(when))}, lang)


@router.get("/reports/remediation/recurrences", summary="Causes that came back after the fix")
def recurrences(
    request: Request, principal: Reader, start: Start, end: End, output: Output = "json",
    lang: LangParam = "ru",
) -> Any:
    """Complaints received in [from, to) whose root cause, in their region, already had a
    completed corrective action before they came in."""
    settings, warehouse = _context(request)
    filters = _filters(settings, start, end)
    sql = remediation_sql.bounded(remediation_sql.RECURRENCES, settings.query_max_rows,
                                  settings_clause(settings.query_max_execution_s))
    params = {**queries.params(principal.tenant, filters),
              **_remediation_params(request, principal.tenant, filters.period.end_ms)}
    params["max_days"] = settings.query_max_days * 2
    rows = warehouse.query(sql, params)
    return _answer("recurrences", remediation_sql.RECURRENCE_COLUMNS, rows,
                   settings.query_max_rows, output,
                   {"tenant": principal.tenant, "from": start, "to": end}, lang)


@router.get("/reports/remediation/actions", summary="Corrective actions and their deadlines")
def action_deadlines(
    request: Request, principal: Reader,
    at: At = None,
    output: Output = "json", lang: LangParam = "ru",
) -> Any:
    """Every corrective action recorded in the last query_max_days before `at`, with the
    three deadlines of the tenant's remediation preset judged at `at`: plan (first complaint
    -> planned), complete (planned -> completed by the due date), verify (completed ->
    verified); each met, breached, open or not_started."""
    settings, warehouse = _context(request)
    when = _instant("at", at)
    sql = remediation_sql.bounded(remediation_sql.ACTION_STATUS, settings.query_max_rows,
                                  settings_clause(settings.query_max_execution_s))
    rows = warehouse.query(sql, _remediation_params(request, principal.tenant, when))
    return _answer("remediation-actions", remediation_sql.ACTION_STATUS_COLUMNS, rows,
                   settings.query_max_rows, output,
                   {"tenant": principal.tenant, "at": jsonable(instant(when))}, lang)
