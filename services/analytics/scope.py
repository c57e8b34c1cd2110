"""Which contacts a history run reads: the one value the SQL builders and the runners share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """Which contacts to re-evaluate: a tenant (or all), the period their first event is in,
    and optionally the regions they are in (none: every region)."""

    tenant: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    regions: tuple[str, ...] = ()
