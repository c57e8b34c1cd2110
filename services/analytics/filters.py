"""Validated query filters for the analytics API: every user value is checked here, before any
SQL exists, and only ever reaches ClickHouse as a bound ``{name:Type}`` parameter.

Why so strict: identifiers in this platform (regions, offices, milestones) are short ASCII-ish
tokens, so anything with quotes, spaces, semicolons or comment markers is refused with 422
instead of being passed along, and every query is bounded in time (``max_days``) and rows.
Group-by names are looked up in a whitelist that maps them to fixed SQL expressions; a name
outside it is an error, never text in a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from schemas.events import Channel, CustomerCategory, parse_timestamp
from schemas.units import DAY_MS
from streams.sla.regions import DEFAULT_TIMEZONE, timezone_for

TOKEN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")


class FilterError(ValueError):
    """A filter value is malformed or out of bounds; the API answers 422 with the message."""


class Dimension(StrEnum):
    """What a compliance report can be filtered and grouped by."""

    CHANNEL = "channel"
    REGION = "region"
    OFFICE = "office"
    CATEGORY = "category"
    MILESTONE = "milestone"
    KIND = "kind"
    DAY = "day"
    MONTH = "month"
    #: the tenant's policy version that judged the clock (0: the platform default), and the
    #: policy's name: the rules a figure was measured against, so periods under different
    #: rules are compared like with like
    POLICY_VERSION = "policy_version"
    POLICY = "policy"


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_ms: int  # inclusive
    end_ms: int  # exclusive


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """A validated compliance-report request (tenant comes from the API key, not from here)."""

    period: TimeRange
    channels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    offices: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    milestones: tuple[str, ...] = ()
    group_by: tuple[Dimension, ...] = ()


#: A plain calendar date as analysts type it (an RFC 3339 full-date).
PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Years a bound may name: what the warehouse can compare with (ClickHouse DateTime64 spans
#: 1900..2299) from the epoch on; a bound outside is a typo (year 20026 or 0001), refused with
#: 422 rather than sent to ClickHouse. A plain date is checked by its own year, an instant in UTC.
FIRST_YEAR, LAST_YEAR = 1970, 2299
YEARS = f"{FIRST_YEAR}..{LAST_YEAR}"
_EPOCH = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
EARLIEST_MS = 0
LATEST_MS = (datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS  # exclusive


def is_plain_date(value: str) -> bool:
    return PLAIN_DATE.fullmatch(value.strip()) is not None


def parse_instant(name: str, value: str, zone: str = DEFAULT_TIMEZONE, *,
                  end: bool = False) -> int:
    """An analyst's time bound -> epoch ms; the one parser of every report/API time parameter.

    An RFC 3339 instant (``2026-12-01T09:00:00+03:00``) is taken as it is. A plain date
    (``2026-12-01``) is a local day in ``zone``: its first instant (local midnight), or with
    ``end=True`` the first instant of the next day, so that an end date includes its whole day.
    Anything else is a FilterError naming ``name`` (the API answers 422 with it).
    """
    text = value.strip()
    if PLAIN_DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise FilterError(f"{name}: {value[:40]!r} is not a calendar date") from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise FilterError(f"{name}: {value[:40]!r} is outside the years {YEARS}")
        day += timedelta(days=1 if end else 0)
        return (datetime.combine(day, time(), ZoneInfo(zone)) - _EPOCH) // _MS
    try:
        epoch_ms = parse_timestamp(text)
    except ValueError as exc:
        raise FilterError(f"{name}: {exc}; or a plain date YYYY-MM-DD") from None
    if not EARLIEST_MS <= epoch_ms < LATEST_MS:
        raise FilterError(f"{name}: {value[:40]!r} is outside the years {YEARS} (UTC)")
    return epoch_ms


def zone_for_regions(regions: Iterable[str]) -> str:
    """The zone plain dates are read in: the one zone of the regions a request names, else the
    standard's home zone (DEFAULT_TIMEZONE). Regions of different zones have no common day."""
    zones = sorted({timezone_for(region) for region in regions})
    if len(zones) > 1:
        raise FilterError(
            f"from/to: a plain date is a local day, but the regions named lie in {len(zones)} "
            f"time zones ({', '.join(zones)}); ask per zone or give RFC 3339 instants")
    return zones[0] if zones else DEFAULT_TIMEZONE


def parse_range(start: str, end: str, max_days: int,
                regions: Iterable[str] = ()) -> TimeRange:
    """``from``/``to`` -> TimeRange [start, end); end after start and at most ``max_days``
    apart. Each is an RFC 3339 instant or a plain date (parse_instant): ``from`` a date's local
    midnight, ``to`` the end of its day (to=2026-12-07 includes the 7th)."""
    plain = is_plain_date(start) or is_plain_date(end)
    zone = zone_for_regions(regions) if plain else DEFAULT_TIMEZONE
    start_ms = parse_instant("from", start, zone)
    end_ms = parse_instant("to", end, zone, end=True)
    if end_ms <= start_ms:
        raise FilterError("to must be later than from")
    if end_ms - start_ms > max_days * DAY_MS:
        raise FilterError(f"the time range is limited to {max_days} days; narrow from/to")
    return TimeRange(start_ms, end_ms)


def split_values(raw: Iterable[str] | None) -> list[str]:
    """Repeated and comma-separated query values -> one flat list, blanks dropped."""
    out: list[str] = []
    for item in raw or ():
        out.extend(part.strip() for part in item.split(",") if part.strip())
    return out


def tokens(name: str, raw: Iterable[str] | None, limit: int = 50) -> tuple[str, ...]:
    values = split_values(raw)
    if len(values) > limit:
        raise FilterError(f"{name}: at most {limit} values")
    for value in values:
        if not TOKEN.match(value):
            raise FilterError(
                f"{name}: {value[:40]!r} is not a valid identifier "
                "(letters, digits, '_', '.', '-'; up to 64 characters)"
            )
    return tuple(dict.fromkeys(values))


def enum_values(name: str, raw: Iterable[str] | None, enum: type[StrEnum]) -> tuple[str, ...]:
    allowed = {m.value for m in enum}
    values = split_values(raw)
    for value in values:
        if value not in allowed:
            raise FilterError(f"{name}: unknown value {value[:40]!r}; one of {sorted(allowed)}")
    return tuple(dict.fromkeys(values))


def dimensions(raw: Iterable[str] | None, allowed: Sequence[Dimension] = tuple(Dimension)) -> (
    tuple[Dimension, ...]
):
    values = split_values(raw)
    names = {d.value for d in allowed}
    for value in values:
        if value not in names:
            raise FilterError(f"group_by: {value[:40]!r} is not one of {sorted(names)}")
    return tuple(dict.fromkeys(Dimension(v) for v in values))


def report_filters(
    *,
    start: str,
    end: str,
    max_days: int,
    channel: Iterable[str] | None = None,
    region: Iterable[str] | None = None,
    office: Iterable[str] | None = None,
    category: Iterable[str] | None = None,
    milestone: Iterable[str] | None = None,
    group_by: Iterable[str] | None = None,
) -> ReportFilters:
    """Raw query-string values -> ReportFilters, or FilterError naming the bad one."""
    regions = tokens("region", region)
    return ReportFilters(
        period=parse_range(start, end, max_days, regions),
        channels=enum_values("channel", channel, Channel),
        regions=regions,
        offices=tokens("office", office),
        categories=enum_values("category", category, CustomerCategory),
        milestones=tokens("milestone", milestone),
        group_by=dimensions(group_by),
    )
