"""Local time and the Russian production calendar for one region, precomputed for a range.

Offices and back offices work on working days only: Monday-Friday minus public holidays and
the days off moved by the government, plus the Saturdays made working days (all from the
``holidays`` package's RU calendar). Everything is precomputed into sorted UTC intervals so
that the hot loops only bisect integer lists.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from schemas.units import DAY_MS, HOUR_MS


@lru_cache(maxsize=64)
def _ru_calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: date) -> bool:
    """Working day under the RU production calendar (transferred Saturdays count as working)."""
    calendar = _ru_calendar(day.year)
    if day in getattr(calendar, "weekend_workdays", ()):
        return True
    return day.weekday() < 5 and day not in calendar


def to_ms(moment: datetime) -> int:
    """Aware datetime -> epoch milliseconds."""
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class LocalHour:
    """What the profiles need to know about one UTC hour in a region's zone."""

    hour: int  # local hour of day 0..23
    weekday: int  # 0 = Monday
    working: bool  # a working day by the production calendar


class Schedule:
    """Sorted, disjoint open intervals [start, end) in epoch ms; ``None`` ends mean 'always'."""

    def __init__(self, intervals: list[tuple[int, int]]) -> None:
        self.starts = [s for s, _ in intervals]
        self.ends = [e for _, e in intervals]

    def next_open(self, t: int) -> int:
        """Earliest instant >= t inside an open interval (t itself when open; a far-future
        instant when the schedule has run out, which callers treat as 'never')."""
        i = bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return t
        if i + 1 < len(self.starts):
            return self.starts[i + 1]
        return t + 365 * DAY_MS

    def is_open(self, t: int) -> bool:
        return self.next_open(t) == t

    def advance(self, t: int, work_ms: int) -> int:
        """The instant at which ``work_ms`` of open time after ``t`` has elapsed."""
        t = self.next_open(t)
        remaining = work_ms
        i = bisect_right(self.starts, t) - 1
        if i < 0 or t >= self.ends[i]:  # the schedule has run out
            return t + remaining
        while True:
            available = self.ends[i] - t
            if remaining <= available:
                return t + remaining
            remaining -= available
            i += 1
            if i == len(self.starts):
                return self.ends[i - 1] + remaining
            t = self.starts[i]


class RegionClock:
    """Local calendar of one time zone over [first_day, last_day], built once per run."""

    def __init__(self, tz_name: str, start_ms: int, end_ms: int, margin_days: int = 90) -> None:
        self.tz = ZoneInfo(tz_name)
        first = datetime.fromtimestamp(start_ms / 1000, self.tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end_ms / 1000, self.tz).date() + timedelta(days=margin_days)
        self.days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        self._hours: dict[int, LocalHour] = {}

    def local_hour(self, hour_start_ms: int) -> LocalHour:
        """Local facts of the UTC hour beginning at ``hour_start_ms`` (memoised)."""
        found = self._hours.get(hour_start_ms)
        if found is None:
            local = datetime.fromtimestamp(hour_start_ms / 1000, self.tz)
            found = LocalHour(local.hour, local.weekday(), is_working_day(local.date()))
            self._hours[hour_start_ms] = found
        return found

    def at(self, day: date, hour: float) -> int:
        """Epoch ms of local ``hour`` (may be fractional) on ``day``."""
        whole = int(hour)
        minutes = round((hour - whole) * 60)
        local = datetime.combine(day, time(whole % 24, minutes), self.tz)
        return to_ms(local + timedelta(days=whole // 24))

    def schedule(self, open_hour: float, close_hour: float, working_days_only: bool) -> Schedule:
        """Daily opening hours, on every day or on production-calendar working days only."""
        intervals = [
            (self.at(day, open_hour), self.at(day, close_hour))
            for day in self.days
            if not working_days_only or is_working_day(day)
        ]
        return Schedule(intervals)


def utc_hour_floor(t: int) -> int:
    return t - t % HOUR_MS


def iso_day(t: int) -> str:
    """UTC date of an instant, for logs and tests."""
    return datetime.fromtimestamp(t / 1000, UTC).date().isoformat()
