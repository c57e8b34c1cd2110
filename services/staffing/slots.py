"""Contact events -> the 15-minute slot rows the forecast reads (pure; the warehouse does the
same fold in SQL, services/staffing/history.py, and a test keeps the two equal).

Per phone contact (of one tenant):
- arrival = its first ``queued`` event; the slot is the 15 minutes that instant lies in;
- queue = the queue named by its latest event that names one, else "main";
- answered = first ``answered``, else abandoned = first ``abandoned``; the wait ends there;
  an abandon within ``short_abandon_ms`` is short: neither an abandon nor waiting time
  (streams/sla/metrics.py's rule);
- handle time = talk + hold + after-call work from the latest event carrying
  ``talk_seconds``; else from ``answered`` to the first resolved / closed / registered /
  callback_requested at or after it (at most MAX_HANDLE_MS; longer is not a call).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import Channel, ContactEvent, EventType
from schemas.units import HOUR_MS, SECOND_MS
from services.staffing.forecast import SLOT_MS, SlotRow

HANDLE_END = (EventType.RESOLVED, EventType.CLOSED, EventType.REGISTERED,
              EventType.CALLBACK_REQUESTED)
HANDLE_KEYS = ("talk_seconds", "hold_seconds", "acw_seconds")
MAX_HANDLE_MS = 4 * HOUR_MS


@dataclass(slots=True)
class _Call:
    region: str
    queue: str | None = None
    queue_at: int = -1
    queued: int | None = None
    answered: int | None = None
    abandoned: int | None = None
    ends: list[int] | None = None
    talk_ms: int | None = None
    talk_at: int = -1


def _talk_ms(attributes: dict[str, str]) -> int | None:
    try:
        return round(sum(float(attributes.get(k, 0)) for k in HANDLE_KEYS) * SECOND_MS)
    except ValueError:
        return None


def fold(events: Iterable[ContactEvent], tenant: str, *,
         short_abandon_ms: int = 5 * SECOND_MS) -> list[SlotRow]:
    """Slot rows of ``tenant``'s phone queues, sorted by (region, queue, slot)."""
    calls: dict[str, _Call] = {}
    for e in events:
        if e.tenant != tenant or e.channel is not Channel.PHONE:
            continue
        c = calls.get(e.contact_id)
        if c is None:
            c = calls[e.contact_id] = _Call(e.region)
        t = e.occurred_at
        if e.queue and t >= c.queue_at:
            c.queue, c.queue_at = e.queue, t
        if "talk_seconds" in e.attributes and t >= c.talk_at:
            c.talk_ms, c.talk_at = _talk_ms(dict(e.attributes)), t
        if e.type is EventType.QUEUED:
            c.queued = t if c.queued is None else min(c.queued, t)
        elif e.type is EventType.ANSWERED:
            c.answered = t if c.answered is None else min(c.answered, t)
        elif e.type is EventType.ABANDONED:
            c.abandoned = t if c.abandoned is None else min(c.abandoned, t)
        if e.type in HANDLE_END:
            c.ends = [*(c.ends or []), t]
    slots: dict[tuple[str, str, int], list[float]] = {}
    for c in calls.values():
        if c.queued is None:
            continue
        key = (c.region, c.queue or "main", c.queued - c.queued % SLOT_MS)
        row = slots.setdefault(key, [0, 0, 0.0, 0, 0.0])
        row[0] += 1
        if c.answered is not None:
            row[4] += max(0, c.answered - c.queued) / SECOND_MS
            handle = c.talk_ms
            if handle is None:
                after = [t for t in c.ends or () if t >= c.answered]
                handle = min(after) - c.answered if after else None
            if handle is not None and 0 <= handle <= MAX_HANDLE_MS:
                row[1] += 1
                row[2] += handle / SECOND_MS
        elif c.abandoned is not None:
            waited = max(0, c.abandoned - c.queued)
            if waited > short_abandon_ms:
                row[3] += 1
                row[4] += waited / SECOND_MS
    return [SlotRow(region, queue, start, int(r[0]), int(r[1]), r[2], int(r[3]), r[4])
            for (region, queue, start), r in sorted(slots.items())]
