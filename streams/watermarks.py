"""How far the worker has read each partition, as an instant: its judgement clock.

A breach is judged when a clock's due instant has passed. The wall clock alone is not enough:
the events that stop the clock may already be in Kafka but not yet read (a backlog sent in
batches, a restart, a rebalance). So each partition has a *read watermark*: the latest instant
``T`` such that every record committed to the partition before ``T`` has been folded. The
worker judges open clocks at ``min(now, T)`` (docs/streams.md, "Judged against the log").

How ``T`` is learnt, with nothing but offsets:
- ``asked(p, at, end)``: at wall instant ``at`` the worker asked the broker for the partition's
  end (the last stable offset: read_committed). Every record committed before ``at`` lies below
  ``end``, because the answer is computed after the question was sent and logs only grow.
- ``fetched(p, position, last)``: what the consumer has handed over -- its position (the next
  offset it will fetch, past transaction markers and aborted records) and the highest record
  offset it returned so far. Taken together in the consumer's thread, after each fetch.
- ``processed(p, offset)``: the agent folded the record at ``offset`` (records of a partition
  are folded in order: one agent, concurrency 1).
Every record below ``position`` has been folded once ``processed >= last``; then each sample
``(at, end)`` with ``end <= position`` proves the partition read up to ``at``.

Pure: no faust, no clock; instants and offsets are passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

#: End-offset samples kept per partition while they are not yet read up to (at the timer's
#: 0.1 s, a backlog of ~3 minutes). Dropping the oldest only delays judgement, never advances it.
MAX_SAMPLES = 2_000


@dataclass(slots=True)
class _Partition:
    samples: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    position: int | None = None
    last_returned: int | None = None
    processed: int | None = None
    read_until: int | None = None


class ReadWatermarks:
    """Per partition: the instant up to which its log is known to be read."""

    def __init__(self) -> None:
        self._parts: dict[int, _Partition] = {}

    def _part(self, partition: int) -> _Partition:
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition()
        return part

    def asked(self, partition: int, at: int, end_offset: int) -> None:
        """The broker said, to a question sent at ``at``, that the partition ends at
        ``end_offset``."""
        self._part(partition).samples.append((at, end_offset))

    def fetched(self, partition: int, position: int, last_returned: int | None) -> None:
        """The consumer's position and the highest offset it has returned (None: none since
        the partition was assigned)."""
        part = self._part(partition)
        part.position = position
        if last_returned is not None and (
            part.last_returned is None or last_returned > part.last_returned
        ):
            part.last_returned = last_returned

    def processed(self, partition: int, offset: int) -> None:
        part = self._part(partition)
        if part.processed is None or offset > part.processed:
            part.processed = offset

    def read_offset(self, partition: int) -> int | None:
        """The offset below which every record of the partition has been folded, if known."""
        part = self._parts.get(partition)
        if part is None or part.position is None:
            return None
        if part.last_returned is None or (
            part.processed is not None and part.processed >= part.last_returned
        ):
            return part.position
        return None if part.processed is None else part.processed + 1

    def read_until(self, partition: int) -> int | None:
        """The read watermark: the latest instant before which every committed record of the
        partition has been folded; None while no sample proves any."""
        part = self._parts.get(partition)
        if part is None:
            return None
        offset = self.read_offset(partition)
        if offset is not None:
            samples = part.samples
            while samples and samples[0][1] <= offset:
                at = samples.popleft()[0]
                if part.read_until is None or at > part.read_until:
                    part.read_until = at
        return part.read_until

    def describe(self, partition: int, now: int) -> str:
        """What holds the partition's watermark where it is, for a log line: the consumer's
        position and last record handed over, the last record folded, and the samples
        waiting to be read up to (the oldest one's age and end offset)."""
        part = self._parts.get(partition)
        if part is None:
            return "nothing known yet"
        oldest = (f"oldest {now - part.samples[0][0]} ms old, end {part.samples[0][1]}"
                  if part.samples else "none")
        until = "never" if part.read_until is None else f"{now - part.read_until} ms ago"
        return (f"position {part.position}, last returned {part.last_returned}, last folded "
                f"{part.processed}, read until {until}, samples waiting {len(part.samples)} "
                f"({oldest})")

    def judged_at(self, partitions: Iterable[int], now: int) -> dict[int, int]:
        """``min(now, read_until)`` of each given partition whose watermark is known."""
        out: dict[int, int] = {}
        for p in partitions:
            until = self.read_until(p)
            if until is not None:
                out[p] = until if until < now else now
        return out

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Drop what is known of ``partitions`` (all when None): revoked, or sought anew."""
        if partitions is None:
            self._parts.clear()
            return
        for p in partitions:
            self._parts.pop(p, None)
