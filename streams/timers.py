"""Deadline timers: the open clocks of one worker, ordered by their next instant of change.

A breach is an event that happens when nothing happens, so the worker cannot wait for the next
message of a contact to notice it. It keeps, for every contact with an open clock in its
partitions, the instant at which that contact's outcome changes next (a warning threshold or the
due instant, as computed by ``streams.sla.clock.next_change``), in one binary heap of
``(instant and partition packed in one int, contact_id)`` per partition: each partition is
judged up to its own read watermark (streams.watermarks), so one partition's backlog holds back
only its own deadlines.

Rescheduling a contact does not search the heap: it records the new instant in a dictionary and
pushes a new entry; the old entry stays in the heap and is skipped when it surfaces because it
no longer matches the dictionary ("lazy invalidation"). Both operations are O(log n) and the heap
is compacted when stale entries outnumber live ones.

Pure: no faust, no clock. The caller passes ``now`` (wall-clock epoch milliseconds) in.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

#: Partitions a heap can tell apart: a contact's entry packs its instant and partition into
#: one int, ``instant * PARTITIONS + partition``, which orders as the instant does.
PARTITIONS = 1024


class DeadlineHeap:
    """Contacts keyed by the next instant (epoch ms) at which one of their clocks changes.

    Memory: one dict entry and one heap tuple per open contact, sharing one int (the packed
    instant and partition) -- a second dict for the partitions cost 38 bytes per contact more
    (bench/memory.py)."""

    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[int, str]]] = {}
        self._due: dict[str, int] = {}  # contact_id -> instant * PARTITIONS + partition

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._due

    def instant_of(self, contact_id: str) -> int | None:
        """The instant ``contact_id`` is scheduled for, or None when it has no open clock."""
        packed = self._due.get(contact_id)
        return None if packed is None else packed // PARTITIONS

    def partition_of(self, contact_id: str) -> int | None:
        """The partition the contact was scheduled from (to drop it on revocation)."""
        packed = self._due.get(contact_id)
        return None if packed is None else packed % PARTITIONS

    def schedule(self, contact_id: str, instant: int | None, partition: int = 0) -> None:
        """Set (or replace) the contact's next instant; None cancels it."""
        if instant is None:
            self.cancel(contact_id)
            return
        if not 0 <= partition < PARTITIONS:
            raise ValueError(f"partition {partition} outside 0..{PARTITIONS - 1}")
        packed = instant * PARTITIONS + partition
        if self._due.get(contact_id) == packed:
            return
        self._due[contact_id] = packed
        heap = self._heaps.get(partition)
        if heap is None:
            heap = self._heaps[partition] = []
        heapq.heappush(heap, (packed, contact_id))
        self._maybe_compact(partition, heap)

    def cancel(self, contact_id: str) -> None:
        """Forget the contact; its heap entry is dropped lazily when it surfaces."""
        self._due.pop(contact_id, None)

    def next_instant(self) -> int | None:
        """The earliest live instant, or None when no clock is open."""
        best: int | None = None
        for heap in self._heaps.values():
            self._drop_stale_top(heap)
            if heap and (best is None or heap[0][0] < best):
                best = heap[0][0]
        return None if best is None else best // PARTITIONS

    def pop_due(self, now: int, horizons: Mapping[int, int] | None = None,
                instants: list[int] | None = None) -> list[str]:
        """Remove and return every contact whose instant is <= now, earliest first per
        partition. With ``horizons``, a partition's contacts are due only up to its horizon
        (its read watermark), and a partition without one is not due at all. ``instants``,
        if given, gets the scheduled instant of each contact returned (same order).

        The caller re-evaluates each one and schedules its following instant, if any.
        """
        fired: list[str] = []
        due = self._due
        for partition, heap in self._heaps.items():
            if horizons is None:
                limit = now
            else:
                horizon = horizons.get(partition)
                if horizon is None:
                    continue
                limit = horizon if horizon < now else now
            last = limit * PARTITIONS + PARTITIONS - 1  # every packed value of instant <= limit
            while heap and heap[0][0] <= last:
                packed, contact_id = heapq.heappop(heap)
                if due.get(contact_id) == packed:
                    fired.append(contact_id)
                    if instants is not None:
                        instants.append(packed // PARTITIONS)
                    del due[contact_id]
        return fired

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget every contact scheduled from one of ``partitions`` (they were revoked)."""
        gone = set(partitions)
        for contact_id in [c for c, p in self._due.items() if p % PARTITIONS in gone]:
            self.cancel(contact_id)
        for partition in gone:
            self._heaps.pop(partition, None)

    def clear(self) -> None:
        self._heaps.clear()
        self._due.clear()

    def _drop_stale_top(self, heap: list[tuple[int, str]]) -> None:
        due = self._due
        while heap and due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)

    def _maybe_compact(self, partition: int, heap: list[tuple[int, str]]) -> None:
        """Rebuild a partition's heap from its live entries when stale ones dominate (bounded
        memory)."""
        if len(heap) > 1024 and len(heap) > 2 * len(self._due):
            heap[:] = [(p, c) for c, p in self._due.items() if p % PARTITIONS == partition]
            heapq.heapify(heap)
