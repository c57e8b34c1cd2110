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
from enum import StrEnum

from schemas.events import Channel, CustomerCategory, parse_timestamp
from schemas.units import DAY_MS

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


def parse_range(start: str, end: str, max_days: int) -> TimeRange:
    """RFC 3339 bounds -> TimeRange; end after start and at most ``max_days`` apart."""
    try:
        start_ms, end_ms = parse_timestamp(start), parse_timestamp(end)
    except ValueError as exc:
        raise FilterError(f"from/to: {exc}") from None
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
    return ReportFilters(
        period=parse_range(start, end, max_days),
        channels=enum_values("channel", channel, Channel),
        regions=tokens("region", region),
        offices=tokens("office", office),
        categories=enum_values("category", category, CustomerCategory),
        milestones=tokens("milestone", milestone),
        group_by=dimensions(group_by),
    )
