"""streams.outbox on the real broker: records land where aiokafka's own ``send`` puts them, in
order per partition, with headers; a group larger than one producer batch is split; each
Delivery's future gives the batch's base offset."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer

from streams.outbox import Delivery, Outbox, OutRecord

pytestmark = pytest.mark.kafka


async def _send(bootstrap: str, records: list[OutRecord], **config: int) -> list[Delivery]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **config)
    await producer.start()
    try:
        deliveries = await Outbox(producer).send(records)
        await producer.flush()
        for d in deliveries:
            await d.future
        return deliveries
    finally:
        await producer.stop()


async def _partitions_by_send(bootstrap: str, topic: str, keys: list[bytes]) -> dict[bytes, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        futures = [await producer.send(topic, b"x", key=k) for k in keys]
        return {k: (await f).partition for k, f in zip(keys, futures, strict=True)}
    finally:
        await producer.stop()


def test_records_land_on_the_partition_of_their_key_in_order(
    kafka_bootstrap: str, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic, reference = new_topic(partitions=6), new_topic(partitions=6)
    keys = [f"c{i % 40}".encode() for i in range(400)]
    records = [OutRecord(topic, k, f"{k.decode()}:{i}".encode()) for i, k in enumerate(keys)]
    records.append(OutRecord(topic, b"dl", b"poison", partition=5,
                             headers=[("reason", b"undecodable: x")]))
    deliveries = asyncio.run(_send(kafka_bootstrap, records))
    expected = asyncio.run(_partitions_by_send(kafka_bootstrap, reference, sorted(set(keys))))

    got = read_records(topic)
    assert len(got) == len(records)
    for r in got:
        if r.key == b"dl":
            assert r.partition == 5 and dict(r.headers)["reason"] == b"undecodable: x"
        else:
            assert r.partition == expected[r.key], r.key
    for key in set(keys):  # per key (so per partition), the order they were added in
        values = [int(r.value.split(b":")[1]) for r in got if r.key == key]
        assert values == sorted(values) and len(values) == keys.count(key)
    assert sum(d.count for d in deliveries) == len(records)
    assert {d.partition for d in deliveries} == {r.partition for r in got}


def test_a_group_larger_than_one_batch_is_split_and_offsets_add_up(
    kafka_bootstrap: str, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic = new_topic(partitions=1)
    records = [OutRecord(topic, b"k", bytes([i % 256]) * 1_000, partition=0) for i in range(100)]
    deliveries = asyncio.run(_send(kafka_bootstrap, records, max_batch_size=16_384))

    assert len(deliveries) > 1  # 100 kB in 16 kB batches
    offsets = [d.future.result().offset for d in deliveries]
    counts = [d.count for d in deliveries]
    assert offsets == [sum(counts[:i]) for i in range(len(counts))]  # consecutive batches
    got = read_records(topic)
    assert [r.value for r in got] == [r.value for r in records]


def test_a_record_larger_than_a_batch_goes_alone_in_its_own(
    kafka_bootstrap: str, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic = new_topic(partitions=1)
    records = [OutRecord(topic, b"k", b"a", partition=0),
               OutRecord(topic, b"k", b"x" * 40_000, partition=0),
               OutRecord(topic, b"k", b"b", partition=0)]
    deliveries = asyncio.run(_send(kafka_bootstrap, records, max_batch_size=16_384))

    assert [d.count for d in deliveries] == [1, 1, 1]
    assert [r.value for r in read_records(topic)] == [r.value for r in records]
