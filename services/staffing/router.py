"""GET /v1/staffing/plan (API key) and GET /api/staffing/plan (the board's login): the
staffing plan of a local day per region and phone queue, as JSON or CSV.

    ?region=tver         a region id (absent: every region with phone history)
    &date=2026-11-16     the region's local day, any day up to a week ahead (default today)
    &interval=15         15, 30 or 60 minutes
    &queue=main          one queue (absent: every queue of the region)
    &at=...              RFC 3339 instant to plan "as of" (replays, tests); default now
    &format=json|csv

The tenant is always the key's. Bad input is a 422 naming the parameter. The SQL is in
services/staffing/history.py, the forecast and the Erlang arithmetic are pure
(services/staffing/forecast.py, plan.py, erlang_a.py); this module only joins them.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from schemas.events import format_timestamp
from schemas.units import DAY_MS, HOUR_MS
from services.analytics.filters import TOKEN, FilterError, parse_instant
from services.analytics.params import DATE_PATTERN, INSTANT_PATTERN, optional
from services.analytics.router import Reader, _warehouse
from services.analytics.sql import settings_clause
from services.auth import Principal
from services.board.session import BoardUser
from services.labels import LangParam, name_rows
from services.settings import Settings
from services.staffing import history
from services.staffing.forecast import INTERVALS_MIN, ForecastConfig, local_day, local_midnight
from services.staffing.plan import COLUMNS, Targets, build_plan
from streams.sla.regions import DEFAULT_TIMEZONE, Lang, timezone_for

router = APIRouter(tags=["staffing"])
#: How far ahead a plan may be asked for (a past day shows its forecast against what happened).
AHEAD_DAYS = 7

Region = Annotated[str | None, Query(json_schema_extra=optional(TOKEN.pattern),
                                     description="Region id; absent: every region.")]
Day = Annotated[str | None, Query(
    alias="date", json_schema_extra=optional(DATE_PATTERN),
    description=f"The region's local day YYYY-MM-DD, up to {AHEAD_DAYS} days ahead; default "
                "today (a past day: its forecast beside what happened).")]
Minutes = Annotated[int, Query(json_schema_extra={"enum": list(INTERVALS_MIN)},
                               description="Interval length in minutes: 15, 30 or 60.")]
Queue = Annotated[str | None, Query(json_schema_extra=optional(TOKEN.pattern),
                                    description="One queue; absent: every queue.")]
At = Annotated[str | None, Query(json_schema_extra=optional(INSTANT_PATTERN),
                                 description="Plan as of this RFC 3339 instant; default now.")]
Output = Annotated[str, Query(alias="format", pattern="^(json|csv)$")]


def plan_for(settings: Settings, warehouse: Any, tenant: str, *, region: str | None,
             day_text: str | None, minutes: int, queue: str | None,
             at: str | None, now_ms: int) -> dict[str, Any]:
    """The plan of every (or one) region; FilterError/ValueError on bad input."""
    for name, value in (("region", region), ("queue", queue)):
        if value is not None and not TOKEN.match(value):
            raise FilterError(f"{name}: {value[:40]!r} is not a valid identifier")
    if minutes not in INTERVALS_MIN:
        raise FilterError(f"interval: {minutes} is not one of {', '.join(map(str, INTERVALS_MIN))}")
    now = parse_instant("at", at) if at else now_ms
    zone = timezone_for(region) if region else DEFAULT_TIMEZONE
    today = local_day(now, zone)
    if day_text is None:
        day = today
    else:
        try:
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            raise FilterError(f"date: {day_text[:40]!r} is not a date YYYY-MM-DD") from None
    if day > today + timedelta(days=AHEAD_DAYS):
        raise FilterError(f"date: plans reach {AHEAD_DAYS} days ahead (up to "
                          f"{today + timedelta(days=AHEAD_DAYS)})")
    config = ForecastConfig(default_handle_s=settings.staffing_default_handle_s)
    start = local_midnight(min(day, today), zone) - config.lookback_weeks * 7 * DAY_MS
    end = min(now, local_midnight(day, zone) + DAY_MS)
    bounds = settings_clause(settings.query_max_execution_s)
    rows = history.slot_rows(warehouse, tenant, region, start, end,
                             short_abandon_ms=settings.worker_short_abandon_ms,
                             settings_sql=bounds)
    storms = history.storm_signals(warehouse, tenant, region, now - 2 * HOUR_MS, now, bounds)
    targets = Targets(threshold_s=settings.staffing_threshold_s, target=settings.staffing_target,
                      max_abandon=settings.staffing_max_abandon,
                      shrinkage=settings.shrinkage_for(tenant))
    regions = [region] if region else sorted({r.region for r in rows})
    plans = [build_plan(rows, r, day, now, minutes=minutes, targets=targets, storms=storms,
                        queue=queue, config=config) for r in regions]
    return {
        "tenant": tenant, "date": day.isoformat(), "interval_min": minutes,
        "as_of": format_timestamp(now), "threshold_s": targets.threshold_s,
        "target": targets.target,
        "max_abandon": targets.max_abandon, "shrinkage": targets.shrinkage,
        "regions": [{k: v for k, v in p.items() if k != "rows"} for p in plans],
        "rows": [row for p in plans for row in p["rows"]],
        "model": "forecast + Erlang C and Erlang A; see docs/staffing.md",
    }


def _respond(request: Request, principal: Principal, region: str | None, day: str | None,
             interval: int, queue: str | None, at: str | None, output: str,
             lang: Lang) -> Any:
    settings: Settings = request.app.state.settings
    try:
        out = plan_for(settings, _warehouse(request), principal.tenant, region=region,
                       day_text=day, minutes=interval, queue=queue, at=at,
                       now_ms=int(time.time() * 1000))
    except history.WarehouseError as exc:
        if exc.timed_out:
            raise HTTPException(504, "the plan's history query took too long") from None
        raise HTTPException(503, "the warehouse could not answer (starting, or not migrated: "
                            "kontakt migrate)", headers={"Retry-After": "5"}) from None
    except (FilterError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(out["rows"])
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename=staffing-plan-{out['date']}.csv"})
    return {**out, "rows": name_rows(out["rows"], lang)}


@router.get("/v1/staffing/plan", summary="Staffing plan per interval (forecast, Erlang C/A)")
def staffing_plan(request: Request, principal: Reader, region: Region = None, day: Day = None,
                  interval: Minutes = 15, queue: Queue = None, at: At = None,
                  output: Output = "json", lang: LangParam = "ru") -> Any:
    """Per interval of the region's local day: forecast calls and handle time, the agents
    Erlang C and Erlang A (with the queue's observed patience) need for the service-level
    target (and Erlang A for the maximum abandon rate), the agents to roster with the tenant's
    shrinkage, and the expected service level and abandon rate; actual calls so far."""
    return _respond(request, principal, region, day, interval, queue, at, output, lang)


@router.get("/api/staffing/plan", include_in_schema=False)
def board_staffing_plan(request: Request, user: BoardUser, region: Region = None,
                        day: Day = None, interval: Minutes = 60, queue: Queue = None,
                        at: At = None, lang: LangParam = "ru") -> Any:
    """The same plan for the board (its login cookie), hourly by default."""
    return _respond(request, user, region, day, interval, queue, at, "json", lang)
