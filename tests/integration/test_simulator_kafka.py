"""`kontakt simulate --to kafka` path against the real broker: every generated event arrives as
a decodable Avro record keyed by its contact, and each contact's events keep their order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from schemas.codec import decode_event
from schemas.events import parse_timestamp
from services.adapters.kafka_publisher import KafkaPublisher
from services.simulator.generate import generate
from services.simulator.model import SimConfig, Storm
from services.simulator.sinks import KafkaSink, pump

pytestmark = pytest.mark.kafka


def test_simulated_events_reach_kafka_keyed_by_contact_in_order(
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    read_records: Callable[..., list[Any]],
) -> None:
    start = parse_timestamp("2026-11-10T06:00:00Z")
    config = SimConfig(
        seed=21,
        start_ms=start,
        days=1 / 24,
        tenants=("mrsk-center",),
        load_factor=0.5,
        storms=(Storm("tver", start, factor=4.0),),
    )
    events = list(generate(config))
    assert len(events) > 300
    topic = new_topic(partitions=3)
    sink = KafkaSink(KafkaPublisher(kafka_bootstrap, client_id="test-simulate"), topic)
    try:
        assert pump(iter(events), sink, batch_size=200) == len(events)
    finally:
        sink.close()
    records = read_records(topic)
    assert len(records) == len(events)
    decoded = [decode_event(r.value) for r in records]
    assert {e.event_id: e for e in decoded} == {e.event_id: e for e in events}
    partitions: dict[str, set[int]] = defaultdict(set)
    per_contact: dict[str, list[str]] = defaultdict(list)
    for record, event in zip(records, decoded, strict=True):
        assert record.key == event.contact_id.encode()
        partitions[event.contact_id].add(record.partition)
        per_contact[event.contact_id].append(event.event_id)
    assert all(len(p) == 1 for p in partitions.values())
    for contact_id, ids in per_contact.items():
        assert ids == [e.event_id for e in events if e.contact_id == contact_id]
