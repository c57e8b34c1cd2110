"""Contact-centre metrics over a set of contacts (standard.md section 3).

Queue metrics (contacts that were ``queued``: phone, office, messenger):

* offered = contacts whose wait ended by ``now`` (answered or abandoned); still-waiting
  contacts are counted separately in ``waiting`` and in ``longest_wait``;
* short abandon = abandoned after waiting <= ``short_abandon_ms`` (a setting, e.g. 5 s);
* service level = answered within the threshold / (offered - short abandons);
* ASA = total wait of answered contacts / answered;
* abandon rate = (abandoned - short abandons) / (offered - short abandons);
* longest wait = now - enqueue time of the oldest contact still waiting (a contact closed
  before it was answered or abandoned is neither offered nor waiting);
* AHT = (talk + hold + after-contact work) / handled, over contacts whose talk time is known
  from event attributes ``talk_seconds`` (+ ``hold_seconds``, ``acw_seconds``; the latest
  event carrying a key wins).

Compliance (deferred channels and every milestone): counts per status and the share met of
the decided ones (met / (met + breached)), grouped like the queue metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.events import Channel, EventType
from streams.sla.clock import Outcome, Status
from streams.sla.policy import Policy
from streams.sla.state import ContactState

GROUP_FIELDS = ("tenant", "region", "office", "channel", "kind", "customer_category")
HANDLE_KEYS = ("talk_seconds", "hold_seconds", "acw_seconds")


def check_group_by(group_by: Sequence[str]) -> tuple[str, ...]:
    """Validate grouping fields (ValueError names the allowed ones)."""
    bad = [g for g in group_by if g not in GROUP_FIELDS]
    if bad:
        raise ValueError(f"cannot group by {bad}; choose from {', '.join(GROUP_FIELDS)}")
    return tuple(group_by)


def queue_thresholds(policy: Policy) -> dict[Channel, int]:
    """Service-level threshold per channel taken from the policy's queue milestones
    (start ``queued``, stop ``answered``), e.g. phone 40 s, in_person 30 min."""
    out: dict[Channel, int] = {}
    for m in policy.milestones:
        if m.start is EventType.QUEUED and EventType.ANSWERED in m.stop_all:
            for channel in m.channels or frozenset(Channel):
                out.setdefault(channel, m.target_ms)
    return out


@dataclass(frozen=True, slots=True)
class _Wait:
    queued: int
    answered: int | None
    abandoned: int | None
    handle_ms: int | None
    closed: bool  # closed before it was answered or abandoned: not offered, not waiting


def _wait(state: ContactState, now: int) -> _Wait | None:
    queued = answered = abandoned = None
    closed = False
    handle: dict[str, str] = {}
    for e in state.events:
        if e.occurred_at > now:
            break
        if e.type is EventType.QUEUED and queued is None:
            queued = e.occurred_at
        elif e.type is EventType.ANSWERED and answered is None and abandoned is None:
            answered = e.occurred_at
        elif e.type is EventType.ABANDONED and answered is None and abandoned is None:
            abandoned = e.occurred_at
        elif e.type is EventType.CLOSED and answered is None and abandoned is None:
            closed = True
        handle.update((k, v) for k, v in e.attributes.items() if k in HANDLE_KEYS)
    if queued is None:
        return None
    handle_ms = None
    if "talk_seconds" in handle:
        try:
            handle_ms = round(sum(float(handle.get(k, 0)) for k in HANDLE_KEYS) * 1000)
        except ValueError:
            handle_ms = None
    return _Wait(queued, answered, abandoned, handle_ms, closed)


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def queue_metrics(
    states: Iterable[ContactState],
    now: int,
    *,
    thresholds: Mapping[Channel, int],
    default_threshold_ms: int = 40_000,
    short_abandon_ms: int = 5_000,
    group_by: Sequence[str] = ("channel",),
) -> list[dict[str, Any]]:
    """One row per group: offered, answered, abandoned, service_level, asa_seconds, ..."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for state in states:
        wait = _wait(state, now)
        if wait is None:
            continue
        key = tuple(_value(getattr(state, g)) for g in group_by)
        row = groups.setdefault(key, {
            "offered": 0, "answered": 0, "answered_within": 0, "abandoned": 0,
            "short_abandons": 0, "waiting": 0, "_wait_ms": 0, "_oldest": None,
            "_handle_ms": 0, "handled_with_talk": 0,
        })  # fmt: skip
        limit = thresholds.get(state.channel, default_threshold_ms)
        if wait.answered is not None:
            waited = wait.answered - wait.queued
            row["offered"] += 1
            row["answered"] += 1
            row["answered_within"] += waited <= limit
            row["_wait_ms"] += waited
            if wait.handle_ms is not None:
                row["handled_with_talk"] += 1
                row["_handle_ms"] += wait.handle_ms
        elif wait.abandoned is not None:
            row["offered"] += 1
            row["abandoned"] += 1
            row["short_abandons"] += wait.abandoned - wait.queued <= short_abandon_ms
        elif not wait.closed:
            row["waiting"] += 1
            oldest = row["_oldest"]
            row["_oldest"] = wait.queued if oldest is None else min(oldest, wait.queued)
    return [_finish(dict(zip(group_by, key, strict=True)), row, now)
            for key, row in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0])))]


def _finish(head: dict[str, Any], row: dict[str, Any], now: int) -> dict[str, Any]:
    counted = row["offered"] - row["short_abandons"]
    asa = _ratio(row["_wait_ms"], row["answered"])
    aht = _ratio(row["_handle_ms"], row["handled_with_talk"])
    oldest = row["_oldest"]
    return {
        **head,
        **{k: v for k, v in row.items() if not k.startswith("_")},
        "service_level": _ratio(row["answered_within"], counted),
        "asa_seconds": None if asa is None else asa / 1000,
        "abandon_rate": _ratio(row["abandoned"] - row["short_abandons"], counted),
        "longest_wait_seconds": None if oldest is None else (now - oldest) / 1000,
        "aht_seconds": None if aht is None else aht / 1000,
    }


def _value(raw: Any) -> Any:
    return getattr(raw, "value", raw)


def compliance(
    outcomes: Iterable[Outcome], *, group_by: Sequence[str] = ("channel",)
) -> list[dict[str, Any]]:
    """Per milestone and group: counts per status and share met among met + breached."""
    groups: dict[tuple[Any, ...], dict[str, int]] = {}
    for o in outcomes:
        key = (o.milestone, *(getattr(o, g) for g in group_by))
        row = groups.setdefault(key, {s.value: 0 for s in Status})
        row[o.status.value] += 1
    out = []
    for key, row in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
        decided = row["met"] + row["breached"]
        out.append({
            "milestone": key[0],
            **dict(zip(group_by, key[1:], strict=True)),
            **row,
            "total": sum(row.values()),
            "met_share": _ratio(row["met"], decided),
        })
    return out
