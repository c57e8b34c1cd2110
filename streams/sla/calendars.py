"""Calendars: how much of a time span counts towards an SLA clock.

Two kinds of calendar ids exist:

* ``"24x7"`` -- every millisecond counts (calendar time; "1 day" = 24 h, "30 days" = 30 x 24 h).
* ``"ru-workdays-H-H"`` (e.g. ``"ru-workdays-9-18"``, ``"ru-workdays-08:30-17:30"``) -- Monday to
  Friday between the two local times, in the region's zone, minus the holidays of the Russian
  production calendar and plus its transferred working Saturdays (``holidays.RU``).

A calendar answers two questions in integer milliseconds, never datetimes in the hot path:
``measure(a, b)`` -- counted time in ``[a, b)``; ``reach(a, n)`` -- the earliest instant ``t``
with ``measure(a, t) >= n``. Everything else (due instants, warnings, pauses) is built on these.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from streams.sla.regions import timezone_for

TWENTY_FOUR_SEVEN = "24x7"
_WORKDAYS = re.compile(r"^ru-workdays-(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$")
_MAX_DAYS_WALKED = 3 * 366  # a target longer than this on a working calendar is a policy error


class CalendarError(ValueError):
    """An unknown or malformed calendar id."""


class Calendar(Protocol):
    id: str

    def measure(self, start: int, end: int) -> int:
        """Counted milliseconds in ``[start, end)`` (0 when ``end <= start``)."""
        ...

    def reach(self, start: int, amount: int) -> int:
        """Earliest ``t >= start`` with ``measure(start, t) >= amount``."""
        ...


class AlwaysOn:
    """24x7: the calendar of phones, queues and "calendar days" targets."""

    id = TWENTY_FOUR_SEVEN

    def measure(self, start: int, end: int) -> int:
        return end - start if end > start else 0

    def reach(self, start: int, amount: int) -> int:
        return start + amount


ALWAYS_ON = AlwaysOn()


@lru_cache(maxsize=64)
def _ru_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, weekend days that are working days) of the Russian production calendar."""
    ru = holidays.RU(years=year)
    return frozenset(ru.keys()), frozenset(getattr(ru, "weekend_workdays", ()) or ())


def is_ru_working_day(day: date) -> bool:
    """True for a working day of the Russian production calendar (transfers included)."""
    days_off, weekend_workdays = _ru_year(day.year)
    if day in weekend_workdays:
        return True
    return day.weekday() < 5 and day not in days_off


class RuWorkdays:
    """Working hours on Russian working days in one time zone."""

    def __init__(self, calendar_id: str, zone: str, open_min: int, close_min: int) -> None:
        self.id = calendar_id
        self.zone = ZoneInfo(zone)
        self.open_min = open_min
        self.close_min = close_min
        self._days: dict[int, tuple[int, int] | None] = {}

    def _interval(self, ordinal: int) -> tuple[int, int] | None:
        """Working interval of a local day in epoch ms (cached: the hot path only adds ints)."""
        cached = self._days.get(ordinal, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        day = date.fromordinal(ordinal)
        interval: tuple[int, int] | None = None
        if is_ru_working_day(day):
            interval = (self._local_ms(day, self.open_min), self._local_ms(day, self.close_min))
        self._days[ordinal] = interval
        return interval

    def _local_ms(self, day: date, minutes: int) -> int:
        local = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return int((local + timedelta(minutes=minutes)).timestamp()) * 1000

    def _ordinal(self, instant: int) -> int:
        return datetime.fromtimestamp(instant // 1000, self.zone).date().toordinal()

    def measure(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        total = 0
        for ordinal in range(self._ordinal(start), self._ordinal(end) + 1):
            interval = self._interval(ordinal)
            if interval is None:
                continue
            lo, hi = max(interval[0], start), min(interval[1], end)
            if hi > lo:
                total += hi - lo
        return total

    def reach(self, start: int, amount: int) -> int:
        if amount <= 0:
            return start
        ordinal = self._ordinal(start)
        for offset in range(_MAX_DAYS_WALKED):
            interval = self._interval(ordinal + offset)
            if interval is None:
                continue
            lo = max(interval[0], start)
            available = interval[1] - lo
            if available <= 0:
                continue
            if available >= amount:
                return lo + amount
            amount -= available
        raise CalendarError(f"{self.id}: target does not fit in {_MAX_DAYS_WALKED} days")


def _parse_hours(calendar_id: str) -> tuple[int, int]:
    match = _WORKDAYS.match(calendar_id)
    if not match:
        raise CalendarError(
            f"unknown calendar {calendar_id!r}; use '24x7' or 'ru-workdays-9-18' (local hours)"
        )
    oh, om, ch, cm = match.groups()
    open_min, close_min = int(oh) * 60 + int(om or 0), int(ch) * 60 + int(cm or 0)
    if not 0 <= open_min < close_min <= 24 * 60:
        raise CalendarError(f"calendar {calendar_id!r}: opening must be before closing")
    return open_min, close_min


def validate_calendar_id(calendar_id: str) -> None:
    """Raise CalendarError unless ``calendar_id`` names a calendar this module can build."""
    if calendar_id != TWENTY_FOUR_SEVEN:
        _parse_hours(calendar_id)


@lru_cache(maxsize=256)
def _build(calendar_id: str, zone: str) -> Calendar:
    open_min, close_min = _parse_hours(calendar_id)
    return RuWorkdays(calendar_id, zone, open_min, close_min)


def get_calendar(calendar_id: str, region: str) -> Calendar:
    """The calendar ``calendar_id`` in the time zone of ``region`` (24x7 ignores the zone)."""
    if calendar_id == TWENTY_FOUR_SEVEN:
        return ALWAYS_ON
    return _build(calendar_id, timezone_for(region))
