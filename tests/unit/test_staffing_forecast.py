"""The forecast (services/staffing/forecast.py) on a seeded history with a known weekly shape:
it must recover the shape, treat holidays as the days they behave like, follow today when it
runs above its forecast, and lift the next hour in an outage storm. Fixed instants only."""

from __future__ import annotations

import math
from datetime import date, timedelta
from random import Random

import pytest

from schemas.units import HOUR_MS, MINUTE_MS
from services.staffing import plan
from services.staffing.forecast import (
    SLOT_MS,
    SLOTS_PER_DAY,
    SlotRow,
    StormSignal,
    day_kind,
    forecast_day,
    intervals,
    local_midnight,
)

REGION, ZONE = "tver", "Europe/Moscow"
#: share of a day's calls per local hour (peaks at 9-11 and 14) and weekday factors, Monday first
HOURLY = (1, 1, 1, 1, 1, 2, 4, 9, 16, 20, 19, 16, 12, 13, 14, 12, 10, 9, 7, 5, 4, 3, 2, 1)
WEEKDAY = (1.35, 1.15, 1.05, 1.0, 0.95, 0.6, 0.5)
DAILY = 3000.0


def expected(day: date, slot: int) -> float:
    """The true mean of a slot: non-working weekdays behave like Sundays."""
    return DAILY * WEEKDAY[day_kind(day)] * HOURLY[slot // 4] / sum(HOURLY) / 4


def poisson(rng: Random, mean: float) -> int:
    if mean > 50:  # normal approximation keeps the loop short
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def history(first: date, last: date, *, seed: int = 17, scale: float = 1.0,
            until_ms: int | None = None) -> list[SlotRow]:
    rng = Random(seed)
    rows = []
    day = first
    while day <= last:
        midnight = local_midnight(day, ZONE)
        for s in range(SLOTS_PER_DAY):
            start = midnight + s * SLOT_MS
            if until_ms is not None and start >= until_ms:
                break
            n = poisson(rng, expected(day, s) * scale)
            handled = round(n * 0.9)
            rows.append(SlotRow(REGION, "main", start, n, handled, handled * 200.0,
                                n - handled, n * 20.0))
        day += timedelta(days=1)
    return rows


HISTORY = history(date(2026, 9, 21), date(2026, 11, 15))


def hourly(forecast_slots: list[float]) -> list[float]:
    return [sum(forecast_slots[h * 4:h * 4 + 4]) for h in range(24)]


def test_day_kinds_follow_the_production_calendar() -> None:
    assert day_kind(date(2026, 11, 16)) == 0  # a Monday
    assert day_kind(date(2026, 11, 4)) == 6  # National Unity Day (a Wednesday): like Sunday
    assert day_kind(date(2025, 11, 1)) == 2  # transferred working Saturday: like midweek
    assert day_kind(date(2026, 11, 15)) == 6


def test_recovers_the_weekly_shape() -> None:
    for day in (date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 21)):  # Mon, Fri, Sat
        now = local_midnight(day, ZONE)
        f = forecast_day(HISTORY, REGION, "main", day, now)
        assert len(f.reference_days) == 6
        assert all(day_kind(d) == day_kind(day) for d in f.reference_days)
        got = hourly([s.calls for s in f.slots])
        want = hourly([expected(day, s) for s in range(SLOTS_PER_DAY)])
        assert sum(got) == pytest.approx(sum(want), rel=0.03)
        wape = sum(abs(g - w) for g, w in zip(got, want, strict=True)) / sum(want)
        assert wape < 0.05, (day, wape)
        assert max(range(24), key=got.__getitem__) == 9  # the morning peak where it is
        assert all(s.handle_s == pytest.approx(200.0) for s in f.slots)


def test_holiday_behaves_like_sunday() -> None:
    day = date(2026, 11, 4)
    f = forecast_day(HISTORY, REGION, "main", day, local_midnight(day, ZONE))
    assert {d.weekday() for d in f.reference_days} == {6}
    total = sum(s.calls for s in f.slots)
    assert total == pytest.approx(DAILY * WEEKDAY[6], rel=0.05)  # not a Wednesday's 1.05


def test_intraday_follows_today_running_high() -> None:
    day = date(2026, 11, 16)
    noon = local_midnight(day, ZONE) + 12 * HOUR_MS
    today = history(day, day, seed=5, scale=1.6, until_ms=noon)
    f = forecast_day(HISTORY + today, REGION, "main", day, noon)
    assert 1.4 < f.intraday_factor < 1.65
    after = [s for s in f.slots if s.start_ms >= noon]
    before = [s for s in f.slots if s.start_ms < noon]
    assert all(s.calls == pytest.approx(s.base_calls * f.intraday_factor) for s in after)
    assert all(s.calls == s.base_calls and s.actual_calls is not None for s in before)
    assert all(s.actual_calls is None for s in after)
    # tomorrow keeps the plain forecast
    nxt = forecast_day(HISTORY + today, REGION, "main", day + timedelta(days=1), noon)
    assert nxt.intraday_factor == 1.0


def test_storm_lifts_the_next_hour_only() -> None:
    day = date(2026, 11, 16)
    midnight = local_midnight(day, ZONE)
    now = midnight + 14 * HOUR_MS + 30 * MINUTE_MS
    storm_at = midnight + 14 * HOUR_MS
    rows = history(day, day, seed=9, until_ms=storm_at)
    for s in range(14 * 4, 14 * 4 + 2):  # 14:00-14:30: four times the usual calls
        rows.append(SlotRow(REGION, "main", midnight + s * SLOT_MS,
                            round(4 * expected(day, s))))
    f = forecast_day(HISTORY + rows, REGION, "main", day, now,
                     storms=[StormSignal(REGION, storm_at), StormSignal("kursk", storm_at)])
    assert f.storm_factor is not None and 3.0 < f.storm_factor < 4.5
    assert 0.85 < f.intraday_factor < 1.15  # the storm's slots do not count
    lifted = {s.start_ms for s in f.slots if s.calls > s.base_calls * 2}
    assert lifted == {midnight + s * SLOT_MS for s in range(14 * 4 + 2, 15 * 4)}
    calm = forecast_day(HISTORY + rows, REGION, "main", day, now + 2 * HOUR_MS,
                        storms=[StormSignal(REGION, storm_at)])
    assert calm.storm_factor is None


def test_no_peeking_and_no_history() -> None:
    day = date(2026, 11, 16)
    f = forecast_day(HISTORY, REGION, "main", day, local_midnight(date(2026, 9, 1), ZONE))
    assert f.reference_days == [] and sum(s.calls for s in f.slots) == 0
    assert f.notes
    other = forecast_day(HISTORY, REGION, "other-queue", day, local_midnight(day, ZONE))
    assert sum(s.calls for s in other.slots) == 0


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_intervals_sum_the_slots(minutes: int) -> None:
    day = date(2026, 11, 16)
    now = local_midnight(day, ZONE) + 9 * HOUR_MS + 5 * MINUTE_MS
    f = forecast_day(HISTORY, REGION, "main", day, now)
    ivs = intervals(f, minutes, now)
    assert len(ivs) == 24 * 60 // minutes
    assert sum(i.calls for i in ivs) == pytest.approx(sum(s.calls for s in f.slots))
    assert [i.current for i in ivs].count(True) == 1
    assert next(i for i in ivs if i.current).start_ms == now - now % (minutes * MINUTE_MS)
    with pytest.raises(ValueError):
        intervals(f, 20, now)


def test_plan_rows_carry_both_models_and_shrinkage() -> None:
    day = date(2026, 11, 16)
    now = local_midnight(day, ZONE)
    out = plan.build_plan(HISTORY, REGION, day, now, minutes=60,
                          targets=plan.Targets(threshold_s=40, target=0.8, max_abandon=0.05,
                                               shrinkage=0.25))
    rows = out["rows"]
    assert len(rows) == 24 and set(rows[0]) == set(plan.COLUMNS)
    peak = rows[9]
    assert peak["interval_start"] == "2026-11-16T09:00+03:00"
    assert peak["patience_s"] == pytest.approx(20.0 / 0.1, rel=0.05)  # waits / abandons
    assert 0 < peak["agents_erlang_a"] <= peak["agents_erlang_c"]
    assert peak["agents_rostered"] == math.ceil(peak["agents_erlang_a"] / 0.75)
    assert peak["expected_service_level"] >= 0.8
    assert peak["expected_abandon_rate"] <= 0.05
