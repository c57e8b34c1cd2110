"""Outage-storm detection: new phone contacts of one tenant in one region far above their
usual level.

The rule (docs/streams.md, "Outage storms"): over the last ``window_ms`` (wall clock, default 10
minutes) count the new phone contacts of a tenant in a region (of kind outage, or all of them,
per scope). Tenants are counted apart: a grid company and a retail supplier of one region each
have their own calls, usual level and storms. The usual level is the tenant's contacts per hour
seen at this local hour of the day, learnt as an exponentially weighted mean of past hours
(``learn_weight``) and ``default_hourly`` until an hour has been seen. A storm is suspected when

    count >= max(min_count, factor * usual_per_hour * window_ms / 1 h)

One OutageStormSuspected (v2, with ``tenant``) is raised per (tenant, region, scope, aligned
window); its id is derived from those, so a re-raise after a restart carries the same id.
Pure: no faust, no clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from schemas.units import HOUR_MS, MINUTE_MS
from streams.sla.regions import timezone_for

SCOPES = ("outage", "all")
_NAMESPACE = uuid.UUID("0b7d7a52-55c8-4c64-8a3c-3c1f6f2b9e21")


@dataclass(frozen=True, slots=True)
class StormConfig:
    window_ms: int = 10 * MINUTE_MS
    factor: float = 3.0
    min_count: int = 20
    default_hourly: float = 30.0
    learn_weight: float = 0.2
    scopes: tuple[str, ...] = ("outage",)


def storm_threshold(usual_per_hour: float, cfg: StormConfig) -> float:
    """The count in one window that makes a storm suspected."""
    return max(float(cfg.min_count), cfg.factor * usual_per_hour * cfg.window_ms / HOUR_MS)


def window_count(per_minute: Mapping[int, int], now: int, window_ms: int) -> int:
    """Contacts whose minute bucket lies in the window ending at ``now`` (inclusive of the
    current minute)."""
    first = now - window_ms
    return sum(n for minute, n in per_minute.items()
               if first < minute + MINUTE_MS and minute <= now)


def local_hour(region: str, instant: int) -> int:
    return datetime.fromtimestamp(instant / 1000, ZoneInfo(timezone_for(region))).hour


def storm_alert_id(tenant: str, region: str, scope: str, window_start: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}|{region}|{scope}|{window_start}"))


class StormDetector:
    """Minute counts per (tenant, region, scope), the learnt usual level, and the alerts
    raised."""

    def __init__(self, cfg: StormConfig | None = None) -> None:
        self.cfg = cfg or StormConfig()
        self._minutes: dict[tuple[str, str, str], dict[int, int]] = {}
        self._usual: dict[tuple[str, str, str, int], float] = {}
        # (tenant, region) -> start of the next hour to learn
        self._learnt_until: dict[tuple[str, str], int] = {}
        self._raised: set[str] = set()

    def observe(self, tenant: str, region: str, minute: int, total: int, outage: int) -> None:
        """Add new phone contacts of ``tenant`` that arrived in ``minute`` (epoch ms)."""
        minute -= minute % MINUTE_MS
        for scope, n in (("all", total), ("outage", outage)):
            if n:
                bucket = self._minutes.setdefault((tenant, region, scope), {})
                bucket[minute] = bucket.get(minute, 0) + n
        self._learnt_until.setdefault((tenant, region), minute - minute % HOUR_MS + HOUR_MS)

    def usual_per_hour(self, tenant: str, region: str, scope: str, hour: int) -> float:
        return self._usual.get((tenant, region, scope, hour), self.cfg.default_hourly)

    def evaluate(self, now: int) -> list[dict[str, Any]]:
        """Learn completed hours, then return OutageStormSuspected datums not raised yet."""
        self._learn(now)
        alerts = []
        for (tenant, region, scope), minutes in sorted(self._minutes.items()):
            if scope not in self.cfg.scopes:
                continue
            count = window_count(minutes, now, self.cfg.window_ms)
            hour = local_hour(region, now)
            usual = self.usual_per_hour(tenant, region, scope, hour)
            threshold = storm_threshold(usual, self.cfg)
            if count < threshold:
                continue
            start = now - now % self.cfg.window_ms
            alert_id = storm_alert_id(tenant, region, scope, start)
            if alert_id in self._raised:
                continue
            self._raised.add(alert_id)
            alerts.append({
                "alert_id": alert_id,
                "tenant": tenant,
                "region": region,
                "scope": scope,
                "window_start": now - self.cfg.window_ms,
                "window_end": now,
                "count": count,
                "baseline": usual * self.cfg.window_ms / HOUR_MS,
                "threshold": threshold,
                "local_hour": hour,
                "raised_at": now,
            })
        return alerts

    def _learn(self, now: int) -> None:
        """Fold every hour that ended before ``now`` into the usual level of its local hour,
        then drop minute counts older than two hours."""
        w = self.cfg.learn_weight
        for (tenant, region), next_hour in list(self._learnt_until.items()):
            while next_hour + HOUR_MS <= now:
                hour = local_hour(region, next_hour)
                for scope in SCOPES:
                    minutes = self._minutes.get((tenant, region, scope), {})
                    total = sum(n for m, n in minutes.items()
                                if next_hour <= m < next_hour + HOUR_MS)
                    key = (tenant, region, scope, hour)
                    old = self._usual.get(key)
                    self._usual[key] = total if old is None else (1 - w) * old + w * total
                next_hour += HOUR_MS
            self._learnt_until[tenant, region] = next_hour
        horizon = now - 2 * HOUR_MS
        for minutes in self._minutes.values():
            for m in [m for m in minutes if m < horizon]:
                del minutes[m]
