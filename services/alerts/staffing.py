"""Staffing advice per phone queue: the last hour's arrivals and handle time, fed to Erlang C.

Fed with contact events (pure: events in, advice out, ``now`` passed in):
- arrival = the first ``queued`` (or ``received``) event of a phone contact;
- handle time = from ``answered`` to the first ``closed``/``resolved`` after it (talk + hold +
  after-call work as the telephony reports it); when the hour has none, a configured default;
- agents active now = distinct ``agent`` names on answered/closed/resolved events in the last
  15 minutes, unless the shift lead entered a number for the queue (which then wins).
Queue = (tenant, region, queue name or "main").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.events import Channel, ContactEvent, EventType
from schemas.units import HOUR_MS, MINUTE_MS
from services.alerts.erlang import agents_needed

ACTIVE_WINDOW_MS = 15 * MINUTE_MS
QueueKey = tuple[str, str, str]
_ARRIVAL = (EventType.QUEUED, EventType.RECEIVED)
_HANDLED_END = (EventType.CLOSED, EventType.RESOLVED)


@dataclass(slots=True)
class _Contact:
    queue: QueueKey
    arrived_at: int | None = None
    answered_at: int | None = None
    handled_ms: int | None = None
    ended_at: int | None = None


@dataclass(slots=True)
class StaffingTracker:
    threshold_s: float = 40.0
    target: float = 0.8
    default_handle_s: float = 180.0
    contacts: dict[str, _Contact] = field(default_factory=dict)
    agents_seen: dict[QueueKey, dict[str, int]] = field(default_factory=dict)
    entered: dict[QueueKey, tuple[int, int]] = field(default_factory=dict)  # (agents, at)

    def add(self, event: ContactEvent) -> None:
        if event.channel is not Channel.PHONE:
            return
        queue = (event.tenant, event.region, event.queue or "main")
        c = self.contacts.setdefault(event.contact_id, _Contact(queue))
        if event.queue:
            c.queue = queue
        t = event.occurred_at
        if event.type in _ARRIVAL and (c.arrived_at is None or t < c.arrived_at):
            c.arrived_at = t
        elif event.type is EventType.ANSWERED and (c.answered_at is None or t < c.answered_at):
            c.answered_at = t
        elif event.type in _HANDLED_END and (c.ended_at is None or t < c.ended_at):
            c.ended_at = t
        if c.answered_at is not None and c.ended_at is not None and c.ended_at >= c.answered_at:
            c.handled_ms = c.ended_at - c.answered_at
        if event.agent and event.type in (EventType.ANSWERED, *_HANDLED_END):
            seen = self.agents_seen.setdefault(c.queue, {})
            seen[event.agent] = max(t, seen.get(event.agent, t))

    def enter_agents(self, queue: QueueKey, agents: int, now: int) -> None:
        """The shift lead's own count of agents on the queue (overrides what events show)."""
        if agents < 0:
            raise ValueError("agents must not be negative")
        self.entered[queue] = (agents, now)

    def prune(self, now: int) -> None:
        horizon = now - HOUR_MS
        self.contacts = {
            k: c for k, c in self.contacts.items()
            if max(c.arrived_at or 0, c.answered_at or 0, c.ended_at or 0) >= horizon
        }
        for seen in self.agents_seen.values():
            for agent in [a for a, t in seen.items() if t < now - ACTIVE_WINDOW_MS]:
                del seen[agent]

    def advice(self, now: int) -> list[dict[str, Any]]:
        """One row per phone queue seen in the last hour (or with an entered agent count)."""
        self.prune(now)
        arrivals: dict[QueueKey, int] = {}
        handled: dict[QueueKey, list[int]] = {}
        for c in self.contacts.values():
            if c.arrived_at is not None and now - HOUR_MS <= c.arrived_at <= now:
                arrivals[c.queue] = arrivals.get(c.queue, 0) + 1
            if c.handled_ms is not None and c.ended_at is not None and c.ended_at >= now - HOUR_MS:
                handled.setdefault(c.queue, []).append(c.handled_ms)
        rows = []
        for queue in sorted(set(arrivals) | set(self.entered)):
            times = handled.get(queue, [])
            handle_s = sum(times) / len(times) / 1000 if times else self.default_handle_s
            advice = agents_needed(arrivals.get(queue, 0), max(handle_s, 1.0),
                                   threshold_s=self.threshold_s, target=self.target)
            entered = self.entered.get(queue)
            seen = len(self.agents_seen.get(queue, {}))
            rows.append({
                "tenant": queue[0], "region": queue[1], "queue": queue[2], "channel": "phone",
                "arrivals_last_hour": arrivals.get(queue, 0),
                "handle_s": round(handle_s, 1),
                "handle_source": "events" if times else "default",
                "traffic_erlangs": round(advice.traffic_erlangs, 3),
                "agents_needed": advice.agents_needed,
                "expected_service_level": round(advice.service_level, 4),
                "expected_asa_s": round(advice.asa_s, 1),
                "agents_active": entered[0] if entered else seen,
                "agents_source": "entered" if entered else "events",
                "threshold_s": self.threshold_s,
                "target": self.target,
            })
        return rows


def queue_key(data: Mapping[str, Any], tenant: str) -> QueueKey:
    return (tenant, str(data["region"]), str(data.get("queue") or "main"))
