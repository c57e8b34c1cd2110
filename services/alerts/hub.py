"""Fan-out of board updates to the open pages (one asyncio queue per Server-Sent-Events stream).

A page that cannot keep up (its queue is full) is cut off rather than slowing everyone down: its
stream ends, EventSource reconnects by itself and receives a fresh snapshot, so nothing is lost
from the page's point of view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.alerts.live import Scope, Update


@dataclass(eq=False)
class Subscriber:
    scope: Scope
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=2000))
    overflowed: bool = False


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, scope: Scope) -> Subscriber:
        sub = Subscriber(scope)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def count(self) -> int:
        return len(self._subscribers)

    def publish(self, updates: Iterable[Update]) -> None:
        """Hand each update to every subscriber whose scope admits it (never blocks)."""
        batch = list(updates)
        if not batch:
            return
        for sub in list(self._subscribers):
            if sub.overflowed:
                continue
            for update in batch:
                if not sub.scope.admits_update(update):
                    continue
                try:
                    sub.queue.put_nowait(update.message())
                except asyncio.QueueFull:
                    sub.overflowed = True
                    break
