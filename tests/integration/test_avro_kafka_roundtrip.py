"""Foundation acceptance: a kafka-python producer writes an Avro single-object event to the
real broker; a consumer reads it back and it decodes to the same event."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from schemas import codec
from schemas.events import parse_event

pytestmark = pytest.mark.kafka


def test_event_round_trips_through_the_broker(
    kafka_bootstrap: str, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic = new_topic(partitions=3)
    events = [
        parse_event(
            {
                "event_id": f"e-{i}",
                "contact_id": f"c-{i % 2}",
                "tenant": "mrsk-center",
                "region": "tver",
                "channel": "phone",
                "type": t,
                "occurred_at": f"2026-11-27T09:15:0{i}.250+03:00",
                "queue": "outage-line",
                "customer_ref": "cr_0123456789abcdef01234567",
                "attributes": {"ivr": "2"},
            }
        )
        for i, t in enumerate(["queued", "answered", "resolved"])
    ]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for event in events:
            producer.send(topic, key=event.contact_id.encode(), value=codec.encode_event(event))
        producer.flush(timeout=20)
    finally:
        producer.close()
    records = read_records(topic)
    assert (
        sorted((codec.decode_event(r.value) for r in records), key=lambda e: e.event_id) == events
    )
    assert all(
        r.value[:2] == codec.MAGIC and r.key == codec.decode_event(r.value).contact_id.encode()
        for r in records
    )
    # One contact, one partition: the key keeps a contact's events in order.
    by_contact = {r.key: {x.partition for x in records if x.key == r.key} for r in records}
    assert all(len(parts) == 1 for parts in by_contact.values())
