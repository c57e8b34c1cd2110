"""The sink on the real broker and a chdb warehouse: every record type lands in its table,
garbage is counted and committed past, offsets are committed only after the insert, and a
redelivery (a second group reading everything again) does not change a single count."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from schemas.codec import default_catalog, encode
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.sink.batch import BatchLimits
from services.sink.rows import MAPPERS, record_rows
from services.sink.runner import Sink, SinkConfig
from tests.integration.sink_helpers import committed, event_payloads, produce, wait_until
from tests.unit.avro_samples import record_samples

pytestmark = pytest.mark.kafka



@pytest.fixture
def admin(kafka_bootstrap: str) -> Iterator[Any]:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    yield client
    client.close()


def _run_sink(
    warehouse: ChdbWarehouse,
    config: SinkConfig,
    until: Callable[[Sink], bool] | None,
    timeout_s: float = 60,
) -> Sink:
    """Run a sink until ``until(sink)`` holds (with ``until=None``: for ``timeout_s``)."""
    sink, stop = Sink(warehouse, config), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    try:
        if until is None:
            time.sleep(timeout_s)
        else:
            check = until
            wait_until(lambda: check(sink) or not thread.is_alive(), timeout_s, "the sink")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    return sink


def _sane(value: Any, key: str = "") -> Any:
    """Sample datums hold any long (negative, epoch-sized); the warehouse's counts are small
    unsigned ints, so every number that is not an instant becomes a small positive one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return abs(value) if key.endswith(("_at", "_start", "_end")) else abs(value) % 1000
    if isinstance(value, dict):
        return {k: _sane(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_sane(v, key) for v in value]
    return value


def _samples(name: str) -> list[dict[str, Any]]:
    return [_sane(d) for d in record_samples(name, default_catalog().get(name).schema)]


def _other_records() -> list[tuple[bytes | None, bytes]]:
    """Every non-event record type the sink maps, several samples each."""
    return [
        (None, encode(name, datum))
        for name in MAPPERS
        if name != "ContactEventRecorded"
        for datum in _samples(name)
    ]


def _poisoned_metric() -> bytes:
    """Decodes fine, but -1 does not fit the UInt32 `offered` column: ClickHouse refuses it."""
    datum = {**_samples("MetricsSnapshotTaken")[0], "snapshot_id": "poison", "offered": -1}
    return encode("MetricsSnapshotTaken", datum)


def _count(warehouse: ChdbWarehouse, table: str, final: bool = True) -> int:
    return int(warehouse.query(f"SELECT count() FROM {table}{' FINAL' if final else ''}")[0][0])


def test_sink_lands_every_record_type_and_skips_garbage(
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    migrated_warehouse: ChdbWarehouse,
    admin: Any,
) -> None:
    events_topic, other_topic = new_topic(partitions=3), new_topic(partitions=1)
    events = event_payloads(3_000)
    others = _other_records()
    garbage = [(None, b"not avro"), (None, b"\xc3\x01" + b"\xff" * 8 + b"unknown schema")]
    poison = [(None, _poisoned_metric())]
    produce(kafka_bootstrap, events_topic, events)
    produce(kafka_bootstrap, other_topic, [*others[:3], *garbage, *poison, *others[3:]])
    total = len(events) + len(others) + len(garbage) + len(poison)

    config = SinkConfig(
        kafka_bootstrap,
        [events_topic, other_topic],
        f"g-{events_topic}",
        BatchLimits(max_rows=1_000, max_age_s=0.2),
    )
    sink = _run_sink(migrated_warehouse, config, lambda s: s.stats.records >= total)

    assert sink.stats.records == total
    assert (sink.stats.undecodable, sink.stats.rejected) == (2, 1)
    assert _count(migrated_warehouse, "events") == len(events)
    assert _count(migrated_warehouse, "events", final=False) == len(events)
    per_table: dict[str, int] = {}
    distinct: dict[str, set[str]] = {}
    for _, value in others:  # each record type's own table, whatever rows.py maps it to
        for table, row in record_rows(value):
            per_table[table] = per_table.get(table, 0) + 1
            distinct.setdefault(table, set()).add(repr(row))
    assert sink.stats.rows_by_table == {"events": len(events), **per_table}
    for table, count in per_table.items():
        # a ReplacingMergeTree collapses identical rows of one insert block: a record that
        # re-carries earlier rows (a policy history) may land as fewer rows, never fewer than
        # the distinct ones; where every row is distinct, every row is there
        stored = _count(migrated_warehouse, table, final=False)
        assert len(distinct[table]) <= stored <= count, (table, stored, count)
    # committed = every record, garbage included, so nothing is redelivered to this group
    assert committed(admin, config.group_id, config.topics) == total

    again = _run_sink(migrated_warehouse, config, None, timeout_s=3)
    assert again.stats.records == 0


def test_redelivery_does_not_double_count(
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    migrated_warehouse: ChdbWarehouse,
) -> None:
    topic = new_topic(partitions=2)
    events = event_payloads(2_000)
    produce(kafka_bootstrap, topic, events)
    for group in ("first", "second"):  # the second group re-reads (redelivers) everything
        config = SinkConfig(
            kafka_bootstrap, [topic], f"{group}-{topic}", BatchLimits(max_rows=500, max_age_s=0.2)
        )
        _run_sink(migrated_warehouse, config, lambda s: s.stats.records >= len(events))
    assert _count(migrated_warehouse, "events", final=False) == 2 * len(events)
    assert _count(migrated_warehouse, "events") == len(events)
    by_channel = migrated_warehouse.query(
        "SELECT channel, count() FROM events FINAL GROUP BY channel ORDER BY channel"
    )
    assert sum(n for _, n in by_channel) == len(events)


def test_encoded_path_stores_the_same_rows_as_decoding(migrated_warehouse: ChdbWarehouse) -> None:
    """Contact events reach chdb as Avro containers parsed by ClickHouse; every sample datum
    (every enum symbol, union branch, map, unicode) must come out as the Python path stores it."""
    from schemas.codec import HEADER_SIZE
    from services.sink.encoded import EncodedPath
    from services.sink.rows import TABLE_COLUMNS, event_rows

    datums = _samples("ContactEventRecorded")
    values = [encode("ContactEventRecorded", d) for d in datums]
    path = EncodedPath()
    hit = path.match(values[0])
    assert hit is not None and hit.table == "events"
    migrated_warehouse.execute("CREATE TABLE events_rows AS events")
    migrated_warehouse.insert_encoded("events", TABLE_COLUMNS["events"], "Avro",
                                      path.container(hit.writer, [v[HEADER_SIZE:] for v in values]))
    migrated_warehouse.insert("events_rows", TABLE_COLUMNS["events"],
                              [row for d in datums for _, row in event_rows(d)])
    columns = ", ".join(TABLE_COLUMNS["events"])
    select = f"SELECT {columns} FROM {{}} ORDER BY event_id"
    encoded = migrated_warehouse.query(select.format("events"))
    decoded = migrated_warehouse.query(select.format("events_rows"))
    assert len(encoded) == len(datums) and encoded == decoded


def test_corrupt_body_behind_a_valid_header_is_counted_and_skipped(
    kafka_bootstrap: str, new_topic: Callable[..., str], migrated_warehouse: ChdbWarehouse,
) -> None:
    topic = new_topic(partitions=1)
    events = event_payloads(200)
    key, value = events[100]
    events[100] = (key, value[:-3])  # truncated: the header still names ContactEventRecorded
    produce(kafka_bootstrap, topic, events)
    config = SinkConfig(kafka_bootstrap, [topic], f"g-{topic}", BatchLimits(1_000, 0.3))
    sink = _run_sink(migrated_warehouse, config, lambda s: s.stats.records >= len(events))
    assert (sink.stats.undecodable, sink.stats.rows) == (1, len(events) - 1)
    assert _count(migrated_warehouse, "events") == len(events) - 1
