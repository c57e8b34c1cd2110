"""The idempotency window: an event_id Kafka acknowledged is remembered for a while, so a
client's retry is accepted (2xx) without being produced twice.

An id is *pending* while its request is being published and *done* once Kafka acknowledged
it. A concurrent request carrying a pending id waits for the outcome instead of answering 2xx
for an event Kafka might still refuse. Kept in memory, per API process: a restart forgets it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Key = tuple[str, str]  # (tenant, event_id)


class WindowBusy(Exception):
    """Another request is still publishing some of these ids and did not finish in time."""


@dataclass(frozen=True, slots=True)
class Reservation:
    fresh: list[Key]  # this request publishes these and must commit() or release() them
    duplicates: list[Key]  # already acknowledged within the window


class IdempotencyWindow:
    def __init__(
        self,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._done: OrderedDict[Key, float] = OrderedDict()  # key -> expiry, oldest first
        self._pending: dict[Key, threading.Event] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._done:
            key, expiry = next(iter(self._done.items()))
            if expiry > now and len(self._done) <= self.max_entries:
                break
            self._done.popitem(last=False)

    def reserve(self, keys: Sequence[Key], timeout_s: float) -> Reservation:
        """Split keys into fresh (now pending for the caller) and duplicates; waits up to
        ``timeout_s`` for keys another request is publishing, then raises WindowBusy."""
        deadline = time.monotonic() + timeout_s
        fresh: list[Key] = []
        duplicates: list[Key] = []
        todo = list(dict.fromkeys(keys))
        while todo:
            waiting: list[tuple[Key, threading.Event]] = []
            with self._lock:
                self._expire(self._clock())
                for key in todo:
                    if key in self._done:
                        duplicates.append(key)
                    elif key in self._pending:
                        waiting.append((key, self._pending[key]))
                    else:
                        self._pending[key] = threading.Event()
                        fresh.append(key)
            todo = []
            for key, event in waiting:
                if not event.wait(max(0.0, deadline - time.monotonic())):
                    self.release(fresh)
                    raise WindowBusy(f"event {key[1]!r} is being published by another request")
                todo.append(key)
        return Reservation(fresh, duplicates)

    def commit(self, keys: Iterable[Key]) -> None:
        """Kafka acknowledged these: remember them for the window."""
        with self._lock:
            expiry = self._clock() + self.window_s
            for key in keys:
                self._done[key] = expiry
                self._done.move_to_end(key)
                event = self._pending.pop(key, None)
                if event is not None:
                    event.set()
            self._expire(self._clock())

    def release(self, keys: Iterable[Key]) -> None:
        """Publishing failed: forget these, so a retry produces them."""
        with self._lock:
            for key in keys:
                event = self._pending.pop(key, None)
                if event is not None:
                    event.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)
