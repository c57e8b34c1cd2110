"""Producing test traffic fast and watching a consumer group's progress, for the sink tests."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from schemas.codec import encode_event
from schemas.events import Channel, ContactEvent, EventType, Kind

BASE_MS = 1_790_000_000_000  # 2026-09-21
CHANNELS = (Channel.PHONE, Channel.EMAIL, Channel.IN_PERSON, Channel.WEB)
TYPES = (EventType.QUEUED, EventType.ANSWERED, EventType.RECEIVED, EventType.REGISTERED)


def event_payloads(n: int, tenant: str = "grid-a", prefix: str = "e") -> list[tuple[bytes, bytes]]:
    """``n`` distinct events (4 per contact) as (key, Avro value), encoded once up front."""
    out = []
    for i in range(n):
        contact = f"{prefix}c{i // 4}"
        event = ContactEvent(
            event_id=f"{prefix}{i}",
            contact_id=contact,
            tenant=tenant,
            region=("tver", "kursk", "orel")[i % 3],
            channel=CHANNELS[(i // 4) % 4],
            type=TYPES[i % 4],
            occurred_at=BASE_MS + i * 10,
            kind=Kind.INQUIRY,
        )
        out.append((contact.encode(), encode_event(event)))
    return out


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Send and wait for every acknowledgement; returns how many were sent."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=1024 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
    count = 0
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
            count += 1
        producer.flush(timeout=60)
    finally:
        producer.close()
    return count


def committed(admin: Any, group: str, topics: Sequence[str]) -> int:
    """Sum of the group's committed offsets over the topics' partitions (0 when none)."""
    from kafka.errors import KafkaError

    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError:  # the group or its coordinator does not exist yet
        return 0
    return sum(
        meta.offset for tp, meta in offsets.items() if tp.topic in topics and meta.offset >= 0
    )


def wait_until(predicate: Any, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
