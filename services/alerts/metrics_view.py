"""Board rows from MetricsSnapshotTaken records: the sum over the worker's partitions.

Each worker partition reports its own share of a group's figures; the contract of the record
(schemas/avro/MetricsSnapshotTaken.v1.avsc) says the totals are the sum, over partitions, of the
latest snapshot per (partition, group, window, window_start). The board shows the current window
of each kind: the newest window_start any partition reported. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Group = tuple[str, str, str, str]  # tenant, channel, region, office ('' when none)
BOARD_WINDOWS = ("15m", "today")
_SUMMED = ("offered", "answered", "answered_in_threshold", "abandoned", "short_abandoned",
           "breaches")


def group_of(datum: Mapping[str, Any]) -> Group:
    return (datum["tenant"], datum["channel"], datum["region"], datum.get("office") or "")


def group_key(group: Group) -> str:
    return "|".join(group)


@dataclass(slots=True)
class _GroupState:
    # (window, partition) -> the latest datum of that partition for its newest window_start
    latest: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    # partition -> (taken_at, waiting, longest_wait_ms) from its newest snapshot of any window
    waiting: dict[int, tuple[int, int, int]] = field(default_factory=dict)


def window_totals(snapshots: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum the partitions' snapshots of one window and derive the rates from the sums."""
    totals: dict[str, Any] = {name: sum(int(s[name]) for s in snapshots) for name in _SUMMED}
    wait_total = sum(float(s["asa_ms"] or 0.0) * int(s["answered"]) for s in snapshots)
    divisor = totals["offered"] - totals["short_abandoned"]
    totals["service_level"] = totals["answered_in_threshold"] / divisor if divisor > 0 else None
    totals["abandon_rate"] = totals["abandoned"] / divisor if divisor > 0 else None
    totals["asa_ms"] = wait_total / totals["answered"] if totals["answered"] else None
    totals["window_start"] = max(int(s["window_start"]) for s in snapshots)
    totals["window_end"] = max(int(s["window_end"]) for s in snapshots)
    return totals


class MetricsView:
    """The latest snapshot per (group, window, partition), and board rows computed from them."""

    def __init__(self) -> None:
        self._groups: dict[Group, _GroupState] = {}

    def add(self, datum: Mapping[str, Any]) -> Group | None:
        """Keep ``datum`` if it is newer than what its partition reported; the group it touched."""
        window = datum["window"]
        group = group_of(datum)
        state = self._groups.setdefault(group, _GroupState())
        part = int(datum["partition"])
        taken = int(datum["taken_at"])
        seen = state.waiting.get(part)
        if seen is None or taken >= seen[0]:
            state.waiting[part] = (taken, int(datum["waiting"]), int(datum["longest_wait_ms"]))
        if window not in BOARD_WINDOWS:
            return group if seen is None or taken > seen[0] else None
        old = state.latest.get((window, part))
        newer = old is None or (int(datum["window_start"]), taken) >= (
            int(old["window_start"]), int(old["taken_at"]))
        if newer:
            state.latest[(window, part)] = dict(datum)
        return group

    def groups(self) -> list[Group]:
        return sorted(self._groups)

    def row(self, group: Group) -> dict[str, Any]:
        """One board row: waiting now, longest wait (as of ``longest_as_of``), window totals."""
        state = self._groups[group]
        tenant, channel, region, office = group
        waiting = sum(w for _, w, _ in state.waiting.values())
        longest, as_of = 0, 0
        for taken, w, ms in state.waiting.values():
            if w and ms >= longest:
                longest, as_of = ms, taken
        windows: dict[str, Any] = {}
        for window in BOARD_WINDOWS:
            snaps = [d for (w, _), d in state.latest.items() if w == window]
            if not snaps:
                continue
            newest = max(int(d["window_start"]) for d in snaps)
            windows[window] = window_totals([d for d in snaps if int(d["window_start"]) == newest])
        return {
            "key": group_key(group),
            "tenant": tenant,
            "channel": channel,
            "region": region,
            "office": office or None,
            "waiting": waiting,
            "longest_wait_ms": longest,
            "longest_as_of": as_of,
            "taken_at": max(t for t, _, _ in state.waiting.values()),
            "windows": windows,
        }
