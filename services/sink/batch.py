"""The sink's batch: rows per table plus the Kafka offsets they came from, and when to flush.

Pure and clock-free (the caller passes ``now``, a monotonic second count): the consumer loop
adds decoded records, asks :meth:`Batch.due`, inserts :meth:`Batch.tables` and only then
commits :meth:`Batch.commit_offsets`. An offset is recorded for every consumed record, even an
undecodable one, so that a poison message is committed past once the rows around it are safe
and is never redelivered forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """Flush when either limit is reached: ``max_rows`` rows or ``max_age_s`` since the first."""

    max_rows: int
    max_age_s: float


@dataclass(slots=True)
class Batch:
    rows: dict[str, list[Row]] = field(default_factory=dict)
    #: (table, writer fingerprint) -> Kafka values sent to ClickHouse still Avro-encoded
    encoded: dict[tuple[str, bytes], list[bytes]] = field(default_factory=dict)
    #: rows ClickHouse accepted per table (filled in by the writer)
    written: dict[str, int] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    records: int = 0
    undecodable: int = 0
    rejected: int = 0  # decoded but refused by ClickHouse (set by the writer)
    started_at: float | None = None
    #: Kafka timestamps (epoch ms) of the oldest and newest record held (for freshness)
    oldest_ms: int | None = None
    newest_ms: int | None = None

    def stamp(self, first_ms: int, last_ms: int) -> None:
        """Note the Kafka timestamps of records added (a partition's first and last)."""
        low, high = (first_ms, last_ms) if first_ms <= last_ms else (last_ms, first_ms)
        if self.oldest_ms is None or low < self.oldest_ms:
            self.oldest_ms = low
        if self.newest_ms is None or high > self.newest_ms:
            self.newest_ms = high

    def add(
        self,
        topic: str,
        partition: int,
        offset: int,
        table_rows: Iterable[tuple[str, Row]],
        now: float,
    ) -> None:
        """Record one consumed Kafka record and the rows it maps to (possibly none)."""
        if self.started_at is None:
            self.started_at = now
        for table, row in table_rows:
            self.rows.setdefault(table, []).append(row)
        key = (topic, partition)
        if offset >= self.offsets.get(key, -1):
            self.offsets[key] = offset
        self.records += 1

    def add_encoded(
        self, topic: str, partition: int, offset: int, key: tuple[str, bytes], value: bytes,
        now: float,
    ) -> None:
        """Record one Kafka record that goes to ``key[0]`` as its Avro bytes."""
        self.encoded.setdefault(key, []).append(value)
        self.add(topic, partition, offset, (), now)

    def add_undecodable(self, topic: str, partition: int, offset: int, now: float) -> None:
        self.add(topic, partition, offset, (), now)
        self.undecodable += 1

    @property
    def row_count(self) -> int:
        return sum(len(r) for r in self.rows.values()) + sum(
            len(v) for v in self.encoded.values())

    def due(self, now: float, limits: BatchLimits) -> bool:
        """True when the batch holds something and a size or age limit has been reached."""
        if self.started_at is None:
            return False
        return self.row_count >= limits.max_rows or now - self.started_at >= limits.max_age_s

    def commit_offsets(self) -> dict[tuple[str, int], int]:
        """Kafka's convention: the committed offset is the NEXT record to read."""
        return {key: last + 1 for key, last in self.offsets.items()}


def transpose(rows: Sequence[Row], width: int) -> list[list[Any]]:
    """Row tuples -> one list per column (zip does it in C; far faster than appending)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
