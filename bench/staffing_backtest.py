"""Backtest of the staffing forecast (services/staffing/forecast.py) on simulated data.

One simulated retail supplier (energosbyt: four regions, one phone queue each) from 21 Sep
2026 for 71 days; the month of November 2026 (with National Unity Day, Wed 4 Nov) is forecast
day by day, each day from only what happened before it, and compared with what the simulator
then produced, next to the naive forecast "the same interval last week" in the same run:

* day ahead: the forecast made at local midnight, every interval of the day (and alone for
  the holiday and the day a week after it, which the naive forecast compares with a holiday);
* at noon: the forecast made at 12:00 with today's intraday correction, the afternoon's
  intervals (the naive forecast cannot correct itself);
* storms: four outage storms (factor 3-6, one hour) in the month; the storm hour's intervals
  as forecast 20 minutes after the storm began (its signal taken as raised 10 minutes in, when
  the detector's 10-minute window first sees it).

Error = WAPE: sum |forecast - actual| / sum actual over all the intervals and regions.
Prints a Markdown table (pasted into docs/staffing.md) and the load average.

Run: .venv/bin/python bench/staffing_backtest.py
"""

from __future__ import annotations

import os
import sys
import time
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, timedelta

from schemas.events import Channel, parse_timestamp
from schemas.units import DAY_MS, HOUR_MS, MINUTE_MS
from services.simulator.generate import generate
from services.simulator.model import SimConfig, Storm, random_storms
from services.staffing.forecast import (
    SLOT_MS,
    SlotRow,
    StormSignal,
    forecast_day,
    local_midnight,
)
from services.staffing.slots import fold

TENANT = "energosbyt"
START = parse_timestamp("2026-09-21T00:00:00+03:00")
DAYS = 71
FIRST_TEST, LAST_TEST = date(2026, 11, 1), date(2026, 11, 30)
ZONE = "Europe/Moscow"  # every energosbyt region is on Moscow time
SEED = 7


def _storms(regions: Sequence[str]) -> tuple[Storm, ...]:
    lo = local_midnight(FIRST_TEST, ZONE) + 8 * HOUR_MS
    hi = local_midnight(LAST_TEST, ZONE)
    return tuple(Storm(s.region, s.start_ms - s.start_ms % SLOT_MS, HOUR_MS, s.factor)
                 for s in random_storms(SEED, tuple(regions), lo, hi, 4))


class Errors:
    def __init__(self) -> None:
        self.abs = {"forecast": 0.0, "naive": 0.0}
        self.actual = 0.0

    def add(self, forecast: float, naive: float, actual: float) -> None:
        self.abs["forecast"] += abs(forecast - actual)
        self.abs["naive"] += abs(naive - actual)
        self.actual += actual

    def wape(self, which: str) -> float:
        return self.abs[which] / self.actual if self.actual else float("nan")


def main() -> int:
    t0 = time.perf_counter()
    regions = ("belgorod", "voronezh", "kursk", "lipetsk")
    storms = _storms(regions)
    config = SimConfig(seed=SEED, start_ms=START, days=DAYS, tenants=(TENANT,), storms=storms)
    events = (e for e in generate(config) if e.channel is Channel.PHONE)
    rows = fold(events, TENANT)
    generated = time.perf_counter() - t0
    by_region: dict[str, list[SlotRow]] = {}
    for row in rows:
        by_region.setdefault(row.region, []).append(row)
    counts = {(r.region, r.start_ms): r.offered for r in rows}
    results: dict[tuple[str, int], Errors] = {}

    def record(kind: str, minutes: int, region: str, lo: int, hi: int,
               forecast: dict[int, float]) -> None:
        errors = results.setdefault((kind, minutes), Errors())
        for start in range(lo, hi, minutes * MINUTE_MS):
            slots = range(start, start + minutes * MINUTE_MS, SLOT_MS)
            actual = sum(counts.get((region, s), 0) for s in slots)
            naive = sum(counts.get((region, s - 7 * DAY_MS), 0) for s in slots)
            errors.add(sum(forecast[s] for s in slots), naive, actual)

    for region in regions:
        history = by_region[region]
        starts = [r.start_ms for r in history]
        queue = history[0].queue  # the simulator names one queue per region
        day = FIRST_TEST
        while day <= LAST_TEST:
            midnight = local_midnight(day, ZONE)
            until = bisect_left(starts, midnight + DAY_MS)
            window = history[bisect_left(starts, midnight - 11 * 7 * DAY_MS):until]
            ahead = forecast_day(window, region, queue, day, midnight)
            noon_ms = midnight + 12 * HOUR_MS
            seen = [StormSignal(region, s.start_ms) for s in storms  # as the board has them
                    if s.region == region and s.start_ms + 10 * MINUTE_MS <= noon_ms]
            noon = forecast_day(window, region, queue, day, noon_ms, storms=seen)
            f_ahead = {s.start_ms: s.calls for s in ahead.slots}
            f_noon = {s.start_ms: s.calls for s in noon.slots}
            for minutes in (15, 30, 60):
                record("day ahead", minutes, region, midnight, midnight + DAY_MS, f_ahead)
                record("day ahead (afternoon)", minutes, region, midnight + 12 * HOUR_MS,
                       midnight + DAY_MS, f_ahead)
                record("at noon (afternoon)", minutes, region, midnight + 12 * HOUR_MS,
                       midnight + DAY_MS, f_noon)
                if day in (date(2026, 11, 4), date(2026, 11, 11)):
                    record("day ahead, 4 and 11 Nov (holiday, a week after)", minutes, region,
                           midnight, midnight + DAY_MS, f_ahead)
            for storm in storms:
                if storm.region != region or not midnight <= storm.start_ms < midnight + DAY_MS:
                    continue
                now = storm.start_ms + 20 * MINUTE_MS
                # raised 10 minutes in; its window (the signal's start) began with the storm
                signal = [StormSignal(region, storm.start_ms)]
                lifted = forecast_day(window, region, queue, day, now, storms=signal)
                f_storm = {s.start_ms: s.calls for s in lifted.slots}
                lo = now - now % SLOT_MS + SLOT_MS
                hi = storm.start_ms + storm.duration_ms
                record("storm, 20 min in (rest of its hour)", 15, region, lo, hi, f_storm)
                record("storm, day ahead (same intervals)", 15, region, lo, hi, f_ahead)
            day += timedelta(days=1)
    elapsed = time.perf_counter() - t0
    print(f"{len(rows)} slot rows of {TENANT} phone queues, {DAYS} simulated days "
          f"(seed {SEED}); generated in {generated:.1f} s, all in {elapsed:.1f} s; "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print("| forecast | interval | WAPE forecast | WAPE naive (same interval last week) |")
    print("| --- | --- | --- | --- |")
    for (kind, minutes), errors in results.items():
        print(f"| {kind} | {minutes} min | {errors.wape('forecast'):.1%} | "
              f"{errors.wape('naive'):.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
