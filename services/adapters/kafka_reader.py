"""Read every record of a topic back, for tests and tools (not a stream processor).

It reads up to the end offsets taken at the start of the call (for read_committed: the last
stable offset, so a transaction still open is not waited for), so it returns as soon as it has
everything already acknowledged instead of waiting for an idle period; ``timeout_s`` bounds it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int


def read_all(
    bootstrap: str,
    topic: str,
    timeout_s: float = 20.0,
    isolation_level: str = "read_committed",
) -> list[ConsumedRecord]:
    """All records of ``topic`` present now, ordered by (partition, offset).

    ``read_committed`` (the default) skips records of aborted transactions and stops at the
    last stable offset, as the platform's consumers do; ``read_uncommitted`` shows the raw log.
    Raises TimeoutError if they cannot all be read within ``timeout_s``.
    """
    from kafka import KafkaConsumer, TopicPartition

    deadline = time.monotonic() + timeout_s
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        isolation_level=isolation_level,
        request_timeout_ms=int(min(timeout_s, 30.0) * 1000) + 1000,
        # without it an unreachable broker costs kafka-python's 30 s, whatever timeout_s says
        bootstrap_timeout_ms=int(timeout_s * 1000),
    )
    try:
        partitions = _partitions(consumer, topic, deadline)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[ConsumedRecord] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"read {len(records)} records of {topic}, not all")
            batches = consumer.poll(timeout_ms=int(min(remaining, 1.0) * 1000))
            for batch in batches.values():
                records.extend(_convert(message) for message in batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def _partitions(consumer: Any, topic: str, deadline: float) -> set[int]:
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} not found")
        time.sleep(0.1)


def _convert(m: Any) -> ConsumedRecord:
    return ConsumedRecord(
        topic=m.topic,
        partition=m.partition,
        offset=m.offset,
        key=m.key,
        value=m.value,
        headers=tuple(m.headers or ()),
        timestamp_ms=m.timestamp,
    )
