"""What one processing batch produces, sent as one Kafka record batch per topic partition.

faust sends a record at a time: ``Topic.send`` builds a FutureMessage, and a table write goes
through ``send_soon`` into a 100-message producer buffer drained by a task, one ``await`` per
record, with a RocksDB write of the persisted offset per changelog record. aiokafka's own
``send`` still creates a future and runs the partitioner per record. The worker emits about two
records per input event (changelog, outcomes, alerts), so ``Outbox.send`` groups a batch's
records by topic partition and hands each group to aiokafka as one ``BatchBuilder``
(``send_batch``): one future and one accumulator entry per partition instead of per record.

Delivery guarantees are faust's: the batches go into the same aiokafka producer that faust
flushes before it commits the input offsets, so an offset is never committed before what it
produced was acknowledged.

Keyed records without an explicit partition get aiokafka's default partitioner (murmur2, as
Kafka's Java client), so they land where ``producer.send`` would have put them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

Headers = list[tuple[str, bytes]]


@dataclass(slots=True)
class OutRecord:
    """One record to produce: bytes already encoded; ``partition`` None = by key."""

    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    headers: Headers | None = None


@dataclass(slots=True)
class Delivery:
    """The future of one record batch and where it went (its result has ``.offset``, the
    batch's base offset, once the broker acknowledged it)."""

    topic: str
    partition: int
    count: int
    future: asyncio.Future[Any]


class Outbox:
    """Sends lists of :class:`OutRecord` through an (already started) aiokafka producer."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._partitions: dict[str, list[int]] = {}
        self._partitioner = DefaultPartitioner()

    async def partition_of(self, record: OutRecord) -> int:
        if record.partition is not None:
            return record.partition
        partitions = self._partitions.get(record.topic)
        if partitions is None:  # metadata once per topic; topics are not resized under us
            partitions = sorted(await self._producer.partitions_for(record.topic))
            self._partitions[record.topic] = partitions
        return int(self._partitioner(record.key, partitions, partitions))

    async def send(self, records: Sequence[OutRecord]) -> list[Delivery]:
        """Queue ``records`` (in order within each partition) and return one Delivery per
        record batch. Awaiting this waits only for room in the producer's accumulator."""
        groups: dict[tuple[str, int], list[OutRecord]] = {}
        for record in records:
            tp = (record.topic, await self.partition_of(record))
            group = groups.get(tp)
            if group is None:
                groups[tp] = [record]
            else:
                group.append(record)
        deliveries: list[Delivery] = []
        for (topic, partition), group in groups.items():
            batch, count = self._producer.create_batch(), 0
            for record in group:
                if _append(batch, record) is None:  # batch full: send it, start the next
                    deliveries.append(await self._submit(batch, topic, partition, count))
                    batch, count = self._producer.create_batch(), 0
                    _append(batch, record)  # an empty batch takes any one record, as Kafka's
                count += 1
            deliveries.append(await self._submit(batch, topic, partition, count))
        return deliveries

    async def _submit(self, batch: Any, topic: str, partition: int, count: int) -> Delivery:
        future = await self._producer.send_batch(batch, topic, partition=partition)
        return Delivery(topic, partition, count, future)


def _append(batch: Any, record: OutRecord) -> Any:
    return batch.append(timestamp=None, key=record.key, value=record.value,
                        headers=record.headers or [])
