"""The stream path fills `contacts`: events through Kafka and the sink give, column by column,
the FINAL rows `kontakt backfill` writes for the same events -- with out-of-order and
duplicated events, a contact that changes later (its new version replaces the old), a
redelivery to a fresh consumer group (same rows, same versions), for both ways events reach
the warehouse (Avro-encoded for chdb, decoded rows as a ClickHouse server gets them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from schemas.codec import encode_event
from schemas.events import Channel, ContactEvent, EventType, Kind
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.backfill import backfill
from services.analytics.scope import Scope
from services.ports import Warehouse
from services.sink.batch import BatchLimits
from services.sink.contacts import CONTACT_COLUMNS
from services.sink.runner import Sink, SinkConfig
from streams.sla.policy import load_policy
from tests.integration.sink_helpers import produce, wait_until

pytestmark = pytest.mark.kafka

T0 = 1_790_000_000_000
FINAL_ROWS = (f"SELECT {', '.join(CONTACT_COLUMNS)} FROM contacts FINAL "
              "ORDER BY tenant, contact_id")


@pytest.fixture(params=[True, False], ids=["encoded", "rows"])
def encoded(request: pytest.FixtureRequest) -> bool:
    """Both ways events reach the warehouse: Avro containers (chdb) and decoded rows (what the
    clickhouse-driver adapter gets; the Debian 18.16 test server predates DateTime64, so the
    schema cannot be migrated onto it)."""
    return bool(request.param)


def _event(n: int, contact: str, etype: EventType, at_s: float, **kw: Any) -> ContactEvent:
    channel = Channel.EMAIL if contact.startswith("m") else Channel.PHONE
    return ContactEvent(event_id=f"{contact}-{n}", contact_id=contact, tenant="grid-a",
                        region="tver", channel=channel, type=etype,
                        occurred_at=T0 + int(at_s * 1000), kind=Kind.COMPLAINT, **kw)


def _first_wave() -> list[ContactEvent]:
    """Phone calls answered or abandoned, emails mid-way; some sent out of order, some twice."""
    out: list[ContactEvent] = []
    for i in range(40):
        c = f"p{i}"
        call = [_event(1, c, EventType.RECEIVED, i, customer_ref=f"ref{i % 7}"),
                _event(2, c, EventType.QUEUED, i + 1, queue="main", office="tver-1"),
                _event(3, c, EventType.ANSWERED if i % 3 else EventType.ABANDONED, i + 9,
                       agent=f"a{i % 4}")]
        if i % 4 == 0:
            call.reverse()  # out of order: answered before received
        if i % 5 == 0:
            call.append(call[0])  # duplicated
        out.extend(call)
    for i in range(10):
        c = f"m{i}"
        out += [_event(1, c, EventType.RECEIVED, 100 + i, topic="billing"),
                _event(2, c, EventType.REGISTERED, 200 + i, office="orel-2")]
    return out


def _second_wave() -> list[ContactEvent]:
    """The emails change later (assigned, answered; one out of order), one is redelivered."""
    out = [_event(2, "m0", EventType.REGISTERED, 200, office="orel-2")]  # redelivered
    for i in range(10):
        c = f"m{i}"
        late = [_event(3, c, EventType.ASSIGNED, 3_600 + i, agent="desk-1", topic="meters"),
                _event(4, c, EventType.RESPONDED, 7_200 + i, related_to=f"p{i}")]
        out += late[::-1] if i % 2 else late
    return out


def _send(bootstrap: str, topic: str, events: list[ContactEvent]) -> None:
    produce(bootstrap, topic, [(e.contact_id.encode(), encode_event(e)) for e in events])


def _sink_until(warehouse: Warehouse, config: SinkConfig, done: Callable[[Sink], bool],
                encoded: bool = True) -> Sink:
    sink, stop = Sink(warehouse, config, encoded=encoded), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: done(sink) or not thread.is_alive(), 60, "the sink")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    return sink


def _rows(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in warehouse.query(FINAL_ROWS)]


def _by_id(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    return {r[1]: dict(zip(CONTACT_COLUMNS, r, strict=True)) for r in rows}


def test_stream_contacts_equal_backfill(
    kafka_bootstrap: str, new_topic: Callable[..., str], migrated_warehouse: ChdbWarehouse,
    encoded: bool,
) -> None:
    warehouse: Warehouse = migrated_warehouse
    topic = new_topic(partitions=3)
    first, second = _first_wave(), _second_wave()
    config = SinkConfig(kafka_bootstrap, [topic], f"g-{topic}", BatchLimits(7, 0.2))

    _send(kafka_bootstrap, topic, first)
    _sink_until(warehouse, config, lambda s: s.stats.records >= len(first),
                encoded)
    before = _by_id(_rows(warehouse))
    assert len(before) == 50
    p20 = before["p20"]  # sent reversed and its first event twice
    assert (p20["status"], p20["version"], p20["agent"]) == ("answered", 3, "a0")
    assert p20["received_at"] < p20["queued_at"] < p20["answered_at"] == p20["updated_at"]
    assert before["m3"]["status"] == "registered" and before["m3"]["version"] == 2

    _send(kafka_bootstrap, topic, second)
    sink = _sink_until(warehouse, config, lambda s: s.stats.records >= len(second),
                encoded)
    assert sink.contacts is not None and sink.contacts.projected >= 10
    stream = _rows(warehouse)
    after = _by_id(stream)
    assert after["m3"]["status"] == "responded" and after["m3"]["version"] == 4
    assert (after["m3"]["agent"], after["m3"]["topic"]) == ("desk-1", "meters")
    assert after["m1"]["related_to"] == "p1" and after["p5"] == before["p5"]
    versions = warehouse.query("SELECT contact_id, count() FROM contacts WHERE contact_id = 'm3' "
                               "GROUP BY contact_id")
    assert versions[0][1] >= 2  # the old version was written too; FINAL picks the new one

    # redelivery: a fresh group reads everything again -> the same rows, the same versions
    again = SinkConfig(kafka_bootstrap, [topic], f"again-{topic}", BatchLimits(5, 0.2))
    _sink_until(warehouse, again, lambda s: s.stats.records >= len(first) + len(second),
                encoded)
    assert _rows(warehouse) == stream

    # `kontakt backfill` (a full rebuild: truncates contacts, refolds from events)
    result = backfill(warehouse, load_policy("rao-ues-2007"), Scope(),
                      evaluated_at=int(time.time() * 1000))
    assert result.contacts == 50
    rebuilt = _rows(warehouse)
    assert len(rebuilt) == len(stream) == 50
    for got, want in zip(stream, rebuilt, strict=True):
        for column, g, w in zip(CONTACT_COLUMNS, got, want, strict=True):
            assert g == w, (got[1], column, g, w)


def test_a_restart_refolds_what_a_crash_left_unprojected(
    kafka_bootstrap: str, new_topic: Callable[..., str], migrated_warehouse: ChdbWarehouse
) -> None:
    """Events the sink inserted whose contacts were never projected (a crash between the two,
    here: the projector switched off) are refolded by the next start's recovery, without any
    record to consume; up-to-date contacts are left alone."""
    topic = new_topic(partitions=1)
    first, second = _first_wave(), _second_wave()
    on = SinkConfig(kafka_bootstrap, [topic], f"g-{topic}", BatchLimits(100, 0.2))
    _send(kafka_bootstrap, topic, first)
    _sink_until(migrated_warehouse, on, lambda s: s.stats.records >= len(first))
    _send(kafka_bootstrap, topic, second)
    off = SinkConfig(kafka_bootstrap, [topic], f"g-{topic}", BatchLimits(100, 0.2),
                     contacts=False)
    sink = _sink_until(migrated_warehouse, off, lambda s: s.stats.records >= len(second))
    assert sink.contacts is None
    assert _by_id(_rows(migrated_warehouse))["m3"]["version"] == 2  # stale

    restarted = _sink_until(migrated_warehouse, on,
                            lambda s: s.contacts is not None and s.contacts.runs >= 1)
    assert restarted.stats.records == 0
    assert restarted.contacts is not None and restarted.contacts.projected == 10  # the emails
    stream = _rows(migrated_warehouse)
    backfill(migrated_warehouse, load_policy("rao-ues-2007"), Scope(),
             evaluated_at=int(time.time() * 1000))
    assert stream == _rows(migrated_warehouse)


def test_projection_off_leaves_contacts_to_backfill(
    kafka_bootstrap: str, new_topic: Callable[..., str], migrated_warehouse: ChdbWarehouse
) -> None:
    """KONTAKT_SINK_CONTACTS=false: the sink writes events only (the switch really switches)."""
    topic = new_topic(partitions=1)
    events = _first_wave()[:12]
    _send(kafka_bootstrap, topic, events)
    config = SinkConfig(kafka_bootstrap, [topic], f"g-{topic}", BatchLimits(100, 0.2),
                        contacts=False)
    sink = _sink_until(migrated_warehouse, config, lambda s: s.stats.records >= len(events))
    assert sink.contacts is None
    assert migrated_warehouse.query("SELECT count() FROM contacts")[0][0] == 0
