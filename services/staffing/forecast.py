"""Forecast of phone arrivals and handle time per queue and 15-minute slot of a local day.

Pure: history rows and ``now`` in, forecast out (no clock, no I/O). The method
(docs/staffing.md):

1. Day kind: a day behaves like its weekday, except by the Russian production calendar
   (streams.sla.calendars.is_ru_working_day): a holiday or moved day off on a weekday behaves
   like a Sunday, a transferred working Saturday or Sunday like a midweek working day.
2. Reference days: the latest ``weeks`` days of the same kind before the forecast day (and
   before today), within ``lookback_weeks``; days before the history begins do not count.
3. Arrivals per slot: the mean of the reference days' counts in that slot, the newest weighted
   most (weights ``decay`` ** age rank), smoothed 1-2-1 with the neighbouring slots (a
   15-minute count is mostly noise; call curves are smooth).
4. Handle time per slot: pooled over the reference days within the slot's local hour (then the
   whole day, then a default), total handle time / handled calls.
5. Intraday: today's finished slots so far against their forecast give a factor
   (actual + k) / (forecast + k), k = ``intraday_prior_calls``, within ``intraday_bounds``, that
   scales the rest of today (the slots of today's storms are left out of it).
6. Storm: while an outage storm of the region is active (raised less than ``storm_hold_ms``
   ago), the slots until then are lifted by the storm's own ratio -- the calls since it began
   against their forecast -- when that is larger than the intraday factor.

Slots are 15 minutes of UTC, which are 15 minutes of local time in every Russian zone (whole
hours, no daylight saving).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schemas.units import DAY_MS, MINUTE_MS
from streams.sla.calendars import is_ru_working_day
from streams.sla.regions import timezone_for

SLOT_MS = 15 * MINUTE_MS
SLOTS_PER_DAY = DAY_MS // SLOT_MS
INTERVALS_MIN = (15, 30, 60)
_MIDWEEK = 2  # Wednesday: what a transferred working weekend day behaves like
_SUNDAY = 6


@dataclass(frozen=True, slots=True)
class SlotRow:
    """What one phone queue saw in one 15-minute slot (arrivals by the instant they queued)."""

    region: str
    queue: str
    start_ms: int  # a multiple of SLOT_MS
    offered: int
    handled: int = 0  # of the offered, answered and with a known handle time
    handle_s: float = 0.0  # their total handle time
    abandoned: int = 0  # short abandons excluded
    wait_s: float = 0.0  # total wait of the answered and the (non-short) abandoned


@dataclass(frozen=True, slots=True)
class StormSignal:
    """An outage storm raised in a region (its first window's start)."""

    region: str
    started_ms: int


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    weeks: int = 6
    lookback_weeks: int = 10
    decay: float = 0.8
    smooth: bool = True
    intraday_prior_calls: float = 80.0
    intraday_bounds: tuple[float, float] = (0.5, 3.0)
    storm_hold_ms: int = 60 * MINUTE_MS
    storm_prior_calls: float = 5.0
    default_handle_s: float = 180.0


@dataclass(frozen=True, slots=True)
class SlotForecast:
    start_ms: int
    calls: float  # forecast, corrections applied
    base_calls: float  # from the reference days alone
    handle_s: float
    actual_calls: int | None  # None for a slot not begun; partial for the current one
    actual_handled: int = 0
    actual_handle_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DayForecast:
    region: str
    queue: str
    day: date
    zone: str
    slots: list[SlotForecast]
    reference_days: list[date]
    intraday_factor: float
    storm_factor: float | None  # set while a storm lifts the forecast
    patience_s: float | None = None  # filled by the plan (erlang_a.estimate_patience)
    notes: list[str] = field(default_factory=list)


def day_kind(day: date) -> int:
    """The weekday a day behaves like (0 = Monday), by the Russian production calendar."""
    working = is_ru_working_day(day)
    weekday = day.weekday()
    if working and weekday >= 5:
        return _MIDWEEK
    if not working and weekday < 5:
        return _SUNDAY
    return weekday


def local_midnight(day: date, zone: str) -> int:
    return int(datetime.combine(day, time(), ZoneInfo(zone)).timestamp()) * 1000


def local_day(instant_ms: int, zone: str) -> date:
    return datetime.fromtimestamp(instant_ms // 1000, ZoneInfo(zone)).date()


@dataclass(slots=True)
class _Day:
    offered: list[float]
    handled: list[float]
    handle_s: list[float]


def _by_day(rows: Iterable[SlotRow], zone: str) -> dict[date, _Day]:
    days: dict[date, _Day] = {}
    midnights: dict[date, int] = {}
    for row in rows:
        day = local_day(row.start_ms, zone)
        if day not in midnights:
            midnights[day] = local_midnight(day, zone)
        slot = (row.start_ms - midnights[day]) // SLOT_MS
        if not 0 <= slot < SLOTS_PER_DAY:
            continue
        d = days.get(day)
        if d is None:
            d = days[day] = _Day([0.0] * SLOTS_PER_DAY, [0.0] * SLOTS_PER_DAY,
                                 [0.0] * SLOTS_PER_DAY)
        d.offered[slot] += row.offered
        d.handled[slot] += row.handled
        d.handle_s[slot] += row.handle_s
    return days


def reference_days(day: date, before: date, first: date | None,
                   config: ForecastConfig) -> list[date]:
    """Days of ``day``'s kind before ``before``, newest first (at most config.weeks)."""
    kind = day_kind(day)
    out: list[date] = []
    candidate = before - timedelta(days=1)
    oldest = before - timedelta(weeks=config.lookback_weeks)
    while candidate >= oldest and len(out) < config.weeks:
        if first is not None and candidate < first:
            break
        if day_kind(candidate) == kind:
            out.append(candidate)
        candidate -= timedelta(days=1)
    return out


def forecast_day(
    rows: Sequence[SlotRow],
    region: str,
    queue: str,
    day: date,
    now_ms: int,
    *,
    storms: Sequence[StormSignal] = (),
    config: ForecastConfig = ForecastConfig(),
) -> DayForecast:
    """The forecast of one queue for the local ``day`` as seen at ``now_ms``.

    ``rows`` are the queue's history (other queues' rows are ignored); rows at or after
    ``now_ms`` are ignored too, so a replay cannot peek at the future."""
    zone = timezone_for(region)
    mine = [r for r in rows if r.region == region and r.queue == queue and r.start_ms < now_ms]
    days = _by_day(mine, zone)
    today = local_day(now_ms, zone)
    first = min(days) if days else None
    refs = reference_days(day, min(day, today), first, config) if first else []
    notes: list[str] = []
    if not refs:
        notes.append("no reference days in the history: forecast 0 calls")
    weights = [config.decay ** rank for rank in range(len(refs))]
    total_w = sum(weights) or 1.0
    empty = _Day([0.0] * SLOTS_PER_DAY, [0.0] * SLOTS_PER_DAY, [0.0] * SLOTS_PER_DAY)
    ref_data = [days.get(d, empty) for d in refs]
    mean = [sum(w * d.offered[s] for w, d in zip(weights, ref_data, strict=True)) / total_w
            for s in range(SLOTS_PER_DAY)]
    base = _smooth(mean) if config.smooth else mean
    handle = _handle_times(ref_data, config.default_handle_s)

    start = local_midnight(day, zone)
    actual = days.get(day)
    factor = 1.0
    storm_factor: float | None = None
    active = [s for s in storms if s.region == region
              and s.started_ms <= now_ms < s.started_ms + config.storm_hold_ms]
    storm_from = min((s.started_ms for s in active), default=None)
    storm_until = max((s.started_ms + config.storm_hold_ms for s in active), default=None)
    if day == today and actual is not None:
        stormy = [(s.started_ms - s.started_ms % SLOT_MS, s.started_ms + config.storm_hold_ms)
                  for s in storms if s.region == region and s.started_ms <= now_ms]
        done = [s for s in range(SLOTS_PER_DAY) if start + (s + 1) * SLOT_MS <= now_ms
                and not any(lo <= start + s * SLOT_MS < hi for lo, hi in stormy)]
        got = sum(actual.offered[s] for s in done)
        expected = sum(base[s] for s in done)
        k = config.intraday_prior_calls
        lo, hi = config.intraday_bounds
        factor = min(hi, max(lo, (got + k) / (expected + k)))
    if storm_from is not None and actual is not None and day == today:
        got = expected = 0.0
        for s in range(SLOTS_PER_DAY):
            lo_ms, hi_ms = start + s * SLOT_MS, start + (s + 1) * SLOT_MS
            overlap = min(hi_ms, now_ms) - max(lo_ms, storm_from - storm_from % SLOT_MS)
            if overlap <= 0:
                continue
            got += actual.offered[s]
            expected += base[s] * overlap / SLOT_MS  # the plain forecast: f is max()ed below
        k = config.storm_prior_calls
        storm_factor = max(1.0, (got + k) / (expected + k))
        notes.append(f"outage storm: calls since it began are {storm_factor:.1f} x forecast")
    slots = []
    for s in range(SLOTS_PER_DAY):
        lo_ms = start + s * SLOT_MS
        f = factor if day == today else 1.0
        if (storm_factor is not None and storm_until is not None
                and lo_ms < storm_until and lo_ms + SLOT_MS > now_ms):
            f = max(f, storm_factor)
        begun = lo_ms < now_ms
        seen = actual if begun else None
        slots.append(SlotForecast(
            start_ms=lo_ms,
            calls=base[s] * (f if lo_ms + SLOT_MS > now_ms else 1.0),
            base_calls=base[s],
            handle_s=handle[s],
            actual_calls=(int(seen.offered[s]) if seen is not None else 0) if begun else None,
            actual_handled=int(seen.handled[s]) if seen is not None else 0,
            actual_handle_s=seen.handle_s[s] if seen is not None else 0.0,
        ))
    return DayForecast(region, queue, day, zone, slots, refs, factor if day == today else 1.0,
                       storm_factor, notes=notes)


def _smooth(values: list[float]) -> list[float]:
    """A 1-2-1 kernel over neighbouring slots (the day's ends repeat their slot)."""
    last = len(values) - 1
    return [(values[max(i - 1, 0)] + 2 * values[i] + values[min(i + 1, last)]) / 4
            for i in range(len(values))]


def _handle_times(ref_data: list[_Day], default_s: float) -> list[float]:
    """Mean handle time per slot, pooled over the slot's local hour, else the day, else
    ``default_s``."""
    handled = [sum(d.handled[s] for d in ref_data) for s in range(SLOTS_PER_DAY)]
    seconds = [sum(d.handle_s[s] for d in ref_data) for s in range(SLOTS_PER_DAY)]
    day_n, day_s = sum(handled), sum(seconds)
    day_mean = day_s / day_n if day_n else default_s
    out = []
    per_hour = 60 * MINUTE_MS // SLOT_MS
    for s in range(SLOTS_PER_DAY):
        first = s - s % per_hour
        n = sum(handled[first:first + per_hour])
        total = sum(seconds[first:first + per_hour])
        out.append(total / n if n >= 5 else day_mean)
    return out


@dataclass(frozen=True, slots=True)
class Interval:
    """A 15/30/60-minute interval of a day's forecast."""

    start_ms: int
    end_ms: int
    calls: float
    handle_s: float
    actual_calls: int | None
    actual_handle_s: float | None  # mean, when some calls were handled
    current: bool  # ``now`` lies in it


def intervals(forecast: DayForecast, minutes: int, now_ms: int) -> list[Interval]:
    """The day's slots summed into intervals of ``minutes`` (15, 30 or 60)."""
    if minutes not in INTERVALS_MIN:
        raise ValueError(f"interval must be one of {INTERVALS_MIN} minutes")
    per = minutes * MINUTE_MS // SLOT_MS
    out = []
    for i in range(0, len(forecast.slots), per):
        group = forecast.slots[i:i + per]
        calls = sum(s.calls for s in group)
        weight = sum(s.calls for s in group)
        handle = (sum(s.calls * s.handle_s for s in group) / weight if weight > 0
                  else sum(s.handle_s for s in group) / len(group))
        begun = [s for s in group if s.actual_calls is not None]
        handled = sum(s.actual_handled for s in begun)
        lo, hi = group[0].start_ms, group[-1].start_ms + SLOT_MS
        out.append(Interval(
            start_ms=lo, end_ms=hi, calls=calls, handle_s=handle,
            actual_calls=sum(s.actual_calls or 0 for s in begun) if begun else None,
            actual_handle_s=sum(s.actual_handle_s for s in begun) / handled if handled else None,
            current=lo <= now_ms < hi,
        ))
    return out
