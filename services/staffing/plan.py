"""The staffing plan of a day: forecast intervals fed to Erlang C and Erlang A (pure).

Per interval: forecast calls and handle time (services.staffing.forecast), the agents Erlang C
says are needed on the phones (services.alerts.erlang), the agents Erlang A says with the
queue's estimated patience (services.staffing.erlang_a) for the service-level target and the
maximum abandon rate, and the agents to roster once shrinkage (breaks, training, meetings: a
share of paid time not on the phones) is added: ceil(agents / (1 - shrinkage)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from schemas.units import HOUR_MS
from services.alerts import erlang
from services.staffing import erlang_a
from services.staffing.forecast import (
    DayForecast,
    ForecastConfig,
    SlotRow,
    StormSignal,
    forecast_day,
    intervals,
)

#: Columns of a plan row, in the order the CSV has them.
COLUMNS = (
    "region", "queue", "interval_start", "interval_end", "forecast_calls", "actual_calls",
    "aht_s", "actual_aht_s", "patience_s", "agents_erlang_c", "agents_erlang_a",
    "agents_rostered", "expected_service_level", "expected_abandon_rate",
    "erlang_c_service_level", "current",
)


@dataclass(frozen=True, slots=True)
class Targets:
    threshold_s: float = 40.0
    target: float = 0.8
    max_abandon: float | None = 0.05
    shrinkage: float = 0.3


def _iso(ms: int, zone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).isoformat(timespec="minutes")


def queue_patience(rows: Sequence[SlotRow], region: str, queue: str) -> float:
    """Mean patience of a queue's callers over its history (inf when nobody abandoned)."""
    mine = [r for r in rows if r.region == region and r.queue == queue]
    return erlang_a.estimate_patience(sum(r.wait_s for r in mine),
                                      sum(r.abandoned for r in mine))


def plan_rows(forecast: DayForecast, minutes: int, now_ms: int, targets: Targets,
              patience_s: float) -> list[dict[str, Any]]:
    """One row per interval of the day (COLUMNS)."""
    rows = []
    for iv in intervals(forecast, minutes, now_ms):
        per_hour = iv.calls * HOUR_MS / (iv.end_ms - iv.start_ms)
        handle = max(iv.handle_s, 1.0)
        c = erlang.agents_needed(per_hour, handle, threshold_s=targets.threshold_s,
                                 target=targets.target)
        a = erlang_a.agents_needed(per_hour, handle, patience_s, threshold_s=targets.threshold_s,
                                   target=targets.target, max_abandon=targets.max_abandon)
        rows.append({
            "region": forecast.region,
            "queue": forecast.queue,
            "interval_start": _iso(iv.start_ms, forecast.zone),
            "interval_end": _iso(iv.end_ms, forecast.zone),
            "forecast_calls": round(iv.calls, 1),
            "actual_calls": iv.actual_calls,
            "aht_s": round(handle, 1),
            "actual_aht_s": None if iv.actual_handle_s is None else round(iv.actual_handle_s, 1),
            "patience_s": None if math.isinf(patience_s) else round(patience_s, 1),
            "agents_erlang_c": c.agents_needed,
            "agents_erlang_a": a.agents_needed,
            "agents_rostered": math.ceil(a.agents_needed / (1.0 - targets.shrinkage) - 1e-9),
            "expected_service_level": round(a.expected.service_level, 4),
            "expected_abandon_rate": round(a.expected.p_abandon, 4),
            "erlang_c_service_level": round(c.service_level, 4),
            "current": iv.current,
        })
    return rows


def queues_of(rows: Sequence[SlotRow], region: str) -> list[str]:
    return sorted({r.queue for r in rows if r.region == region}) or ["main"]


def build_plan(
    rows: Sequence[SlotRow],
    region: str,
    day: date,
    now_ms: int,
    *,
    minutes: int = 15,
    targets: Targets = Targets(),
    storms: Sequence[StormSignal] = (),
    queue: str | None = None,
    config: ForecastConfig | None = None,
) -> dict[str, Any]:
    """The plan of every queue of ``region`` (or just ``queue``) for the local ``day``."""
    out_rows: list[dict[str, Any]] = []
    queues = []
    zone = None
    for q in [queue] if queue else queues_of(rows, region):
        forecast = forecast_day(rows, region, q, day, now_ms, storms=storms,
                                config=config or ForecastConfig())
        patience = queue_patience([r for r in rows if r.start_ms < now_ms], region, q)
        out_rows += plan_rows(forecast, minutes, now_ms, targets, patience)
        zone = forecast.zone
        queues.append({
            "queue": q,
            "reference_days": [d.isoformat() for d in forecast.reference_days],
            "intraday_factor": round(forecast.intraday_factor, 3),
            "storm_factor": None if forecast.storm_factor is None
            else round(forecast.storm_factor, 2),
            "patience_s": None if math.isinf(patience) else round(patience, 1),
            "notes": forecast.notes,
        })
    return {"region": region, "date": day.isoformat(), "interval_min": minutes,
            "zone": zone, "queues": queues, "rows": out_rows}
