"""Policies as data: a TOML file per tenant, one ``[[milestones]]`` table per clock.

A milestone says which contacts it applies to (channels, kinds), which event starts its clock,
which events stop it (all of them must have happened; the stop instant is the latest), which
cancel it, whether ``paused``/``resumed`` stop the clock, the target, the calendar, the warning
thresholds and per-customer-category targets. Shipped presets live in ``presets/*.toml`` and are
loaded by name; anything else is a path. See ``presets/rao-ues-2007.toml`` for the format.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from schemas.events import Channel, CustomerCategory, EventType, Kind
from schemas.units import DAY_MS, HOUR_MS, MINUTE_MS
from streams.sla.calendars import CalendarError, validate_calendar_id

PRESETS: tuple[str, ...] = ("rao-ues-2007", "minenergo-186")
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|min|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": MINUTE_MS, "min": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}
_MAX_TARGET_MS = 366 * DAY_MS  # a year: longer targets are typos, and calendars walk days


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the bad field."""


@dataclass(frozen=True, slots=True)
class Milestone:
    id: str
    start: EventType
    stop_all: frozenset[EventType]
    target_ms: int
    channels: frozenset[Channel] = frozenset()  # empty = every channel
    kinds: frozenset[Kind] = frozenset()  # empty = every kind
    cancel: frozenset[EventType] = frozenset()
    abandon_rule: bool = False  # abandoned -> cancelled if waited <= target, else breached
    pausable: bool = False
    calendar: str = "24x7"
    warnings: tuple[float, ...] = ()
    category_targets: Mapping[CustomerCategory, int] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    description: str = ""

    def applies_to(self, channel: Channel, kind: Kind) -> bool:
        """True when a contact on ``channel`` of ``kind`` is measured by this milestone."""
        return (not self.channels or channel in self.channels) and (
            not self.kinds or kind in self.kinds
        )

    def target_for(self, category: CustomerCategory) -> int:
        """Target in ms for a customer category (a category override wins)."""
        return self.category_targets.get(category, self.target_ms)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    milestones: tuple[Milestone, ...]
    description: str = ""
    version: int = 0  # the tenant's policy version (streams.sla.versions); 0 = platform default


def applicable(policy: Policy, channel: Channel, kind: Kind) -> tuple[Milestone, ...]:
    """Milestones of ``policy`` that measure a contact of this channel and kind."""
    return tuple(m for m in policy.milestones if m.applies_to(channel, kind))


def parse_duration(value: object, where: str) -> int:
    """'40s', '30m', '4h', '1d', '1500ms' or a number of seconds -> milliseconds."""
    if isinstance(value, bool):
        raise PolicyError(f"{where}: expected a duration such as '40s', '4h' or '30d'")
    if isinstance(value, int):
        ms = value * 1000
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if not match:
            raise PolicyError(f"{where}: expected a duration such as '40s', '4h' or '30d'")
        ms = int(match.group(1)) * _UNIT_MS[match.group(2)]
    if ms <= 0:
        raise PolicyError(f"{where}: a duration must be positive")
    if ms > _MAX_TARGET_MS:
        raise PolicyError(f"{where}: {value!r} is longer than a year; check the unit")
    return ms


def _enums(raw: Any, enum: type[Any], where: str) -> frozenset[Any]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: expected a list of names")
    try:
        return frozenset(enum(item) for item in raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise PolicyError(f"{where}: unknown name in {raw!r}; expected {allowed}") from None


_KEYS = {
    "id", "description", "channels", "kinds", "start", "stop", "cancel", "abandon_rule",
    "pausable", "target", "calendar", "warnings", "category_targets",
}  # fmt: skip


def _milestone(raw: Mapping[str, Any], where: str) -> Milestone:
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)}; allowed {sorted(_KEYS)}")
    for key in ("id", "start", "stop", "target"):
        if key not in raw:
            raise PolicyError(f"{where}: missing required key {key!r}")
    where = f"{where} ({raw['id']})"
    start = _enums(raw["start"], EventType, f"{where}.start")
    if len(start) != 1:
        raise PolicyError(f"{where}.start: exactly one event type starts a clock")
    stop = _enums(raw["stop"], EventType, f"{where}.stop")
    if not stop:
        raise PolicyError(f"{where}.stop: name at least one event type")
    warnings = raw.get("warnings", [])
    if not isinstance(warnings, list) or not all(
        isinstance(w, int | float) and not isinstance(w, bool) and 0 < w < 1 for w in warnings
    ):
        raise PolicyError(f"{where}.warnings: fractions of the target between 0 and 1")
    calendar = str(raw.get("calendar", "24x7"))
    try:
        validate_calendar_id(calendar)
    except CalendarError as exc:
        raise PolicyError(f"{where}.calendar: {exc}") from None
    overrides = raw.get("category_targets", {})
    if not isinstance(overrides, Mapping):
        raise PolicyError(f"{where}.category_targets: expected a table category = duration")
    category_targets = {
        category: parse_duration(overrides[name], f"{where}.category_targets.{name}")
        for name in overrides
        for category in _enums(name, CustomerCategory, f"{where}.category_targets")
    }
    for key in ("abandon_rule", "pausable"):
        if not isinstance(raw.get(key, False), bool):
            raise PolicyError(f"{where}.{key}: expected true or false")
    return Milestone(
        id=str(raw["id"]),
        description=str(raw.get("description", "")),
        channels=_enums(raw.get("channels", []), Channel, f"{where}.channels"),
        kinds=_enums(raw.get("kinds", []), Kind, f"{where}.kinds"),
        start=next(iter(start)),
        stop_all=stop,
        cancel=_enums(raw.get("cancel", []), EventType, f"{where}.cancel"),
        abandon_rule=bool(raw.get("abandon_rule", False)),
        pausable=bool(raw.get("pausable", False)),
        target_ms=parse_duration(raw["target"], f"{where}.target"),
        calendar=calendar,
        warnings=tuple(sorted(float(w) for w in set(warnings))),
        category_targets=MappingProxyType(category_targets),
    )


def policy_from_mapping(doc: Mapping[str, Any], source: str) -> Policy:
    """A parsed TOML document -> Policy (PolicyError names ``source`` and the bad field)."""
    raw_milestones = doc.get("milestones")
    if not isinstance(raw_milestones, list) or not raw_milestones:
        raise PolicyError(f"{source}: needs at least one [[milestones]] table")
    milestones = tuple(
        _milestone(raw, f"{source}: milestones[{i}]") for i, raw in enumerate(raw_milestones)
    )
    ids = [m.id for m in milestones]
    if len(set(ids)) != len(ids):
        raise PolicyError(f"{source}: milestone ids must be unique, got {ids}")
    name = str(doc.get("name") or Path(source).stem)
    return Policy(name=name, milestones=milestones, description=str(doc.get("description", "")))


def load_policy(preset_or_path: str) -> Policy:
    """A shipped preset by name (``rao-ues-2007``, ``minenergo-186``) or a TOML file by path."""
    if preset_or_path in PRESETS:
        text = resources.files("streams.sla.presets").joinpath(f"{preset_or_path}.toml")
        source, data = preset_or_path, text.read_text(encoding="utf-8")
    else:
        path = Path(preset_or_path)
        if not path.is_file():
            presets = ", ".join(PRESETS)
            raise PolicyError(f"no policy {preset_or_path!r}: name a preset ({presets}) or a file")
        source, data = str(path), path.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    return policy_from_mapping(doc, source)
