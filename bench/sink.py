"""The ClickHouse sink against raw chdb inserts of the same rows, measured in one run, and
freshness (event produced -> visible in ClickHouse).

1. N contact events (Avro, as the ingest API writes them) are produced to a 3-partition topic
   of a broker started for the run (free ports, temporary directory; stopped at the end).
2. The sink (services/sink, the code `kontakt sink` and the API process run) copies them into
   an embedded chdb warehouse, timed from its first record to its last commit; once with the
   default encoded path (Avro containers parsed by ClickHouse) and once decoding in Python.
3. Baselines, the same rows straight into chdb without Kafka, in batches of the same size:
   the same Avro bodies as containers, the decoded rows through the Warehouse adapter
   (Python tuples -> Arrow), and a prebuilt Arrow table (the engine's ceiling).
4. Freshness: events produced at a steady rate with occurred_at = the instant of sending; a
   sink with the default batch settings running; p50/p95/p99 of ingested_at - occurred_at
   (ingested_at is ClickHouse's now64() when the insert block is written, i.e. visible).

Run: .venv/bin/python bench/sink.py [N_EVENTS] [--rate EVENTS_PER_S] [--seconds S]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from local_broker import start_broker  # bench/ sibling (sys.path[0])

from schemas.codec import HEADER_SIZE, decode, encode_event
from schemas.events import Channel, ContactEvent, EventType, Kind
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.migrate import migrate
from services.settings import load_settings
from services.sink.batch import BatchLimits
from services.sink.encoded import EncodedPath
from services.sink.rows import EVENT_COLUMNS, event_rows
from services.sink.runner import Sink, SinkConfig

BATCH = 50_000
BASE_MS = 1_790_000_000_000
CHANNELS = (Channel.PHONE, Channel.EMAIL, Channel.IN_PERSON, Channel.WEB)
TYPES = (EventType.QUEUED, EventType.ANSWERED, EventType.RECEIVED, EventType.REGISTERED)
REGIONS = ("tver", "kursk", "orel", "belgorod", "lipetsk")


def make_event(i: int, occurred_at: int, prefix: str = "e") -> ContactEvent:
    return ContactEvent(
        event_id=f"{prefix}{i}", contact_id=f"{prefix}c{i // 4}", tenant="mrsk-center",
        region=REGIONS[i % 5], channel=CHANNELS[(i // 4) % 4], type=TYPES[i % 4],
        occurred_at=occurred_at, kind=Kind.INQUIRY, office=None if i % 3 else "tver-1",
        queue="main", attributes={"ivr": str(i % 7)} if i % 2 else {},
    )


def produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                             batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024)
    began = time.perf_counter()
    for key, value in values:
        producer.send(topic, key=key, value=value)
    producer.flush(timeout=120)
    producer.close()
    return time.perf_counter() - began


def create_topic(bootstrap: str, name: str, partitions: int = 3) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()
    return name


def run_sink(warehouse: ChdbWarehouse, config: SinkConfig, n: int, encoded: bool) -> float:
    """Rows/s from the sink's first record to the commit of its n-th."""
    sink, stop = Sink(warehouse, config, encoded=encoded), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    first = None
    while sink.stats.records < n:
        if first is None and (sink._batch.records or sink.stats.records):
            first = time.perf_counter()
        time.sleep(0.002)
    end = time.perf_counter()
    stop.set()
    thread.join(60)
    return n / (end - (first or end))


def timed(batches: list[Any], insert: Any) -> float:
    began = time.perf_counter()
    rows = 0
    for batch in batches:
        rows += insert(batch)
    return rows / (time.perf_counter() - began)


def arrow_insert(warehouse: ChdbWarehouse, table: pa.Table) -> int:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    warehouse.insert_encoded("events", list(table.column_names), "ArrowStream", sink.getvalue())
    return int(table.num_rows)


def throughput(warehouse: ChdbWarehouse, bootstrap: str, n: int) -> list[tuple[str, float]]:
    events = [make_event(i, BASE_MS + i * 10) for i in range(n)]
    values = [(e.contact_id.encode(), encode_event(e)) for e in events]
    topic = create_topic(bootstrap, "bench.sink.events")
    produce(bootstrap, topic, values)
    limits = BatchLimits(BATCH, 1.0)
    results: list[tuple[str, float]] = []
    for encoded in (True, False):
        warehouse.execute("TRUNCATE TABLE events")
        config = SinkConfig(bootstrap, [topic], f"bench-{encoded}-{time.time()}", limits)
        label = "encoded (Avro containers)" if encoded else "decoding in Python (fastavro)"
        results.append((f"sink, Kafka -> chdb, {label}", run_sink(warehouse, config, n, encoded)))
    assert warehouse.query("SELECT count() FROM events FINAL")[0][0] == n

    chunks = [values[i:i + BATCH] for i in range(0, n, BATCH)]
    path = EncodedPath()
    writer = path.match(values[0][1]).writer  # type: ignore[union-attr]
    warehouse.execute("TRUNCATE TABLE events")
    results.append(("raw chdb insert: same Avro bodies as containers", timed(chunks, lambda c: (
        warehouse.insert_encoded("events", EVENT_COLUMNS, "Avro",
                                 path.container(writer, [v[HEADER_SIZE:] for _, v in c])),
        len(c))[1])))
    rows = [row for _, v in values for _, row in event_rows(decode(v)[1])]
    row_chunks = [rows[i:i + BATCH] for i in range(0, n, BATCH)]
    warehouse.execute("TRUNCATE TABLE events")
    results.append(("raw chdb insert: same rows via Warehouse.insert", timed(row_chunks, lambda c: (
        warehouse.insert("events", EVENT_COLUMNS, c), len(c))[1])))
    warehouse.execute("TRUNCATE TABLE events")
    schema = pa.schema([
        ("event_id", pa.string()), ("contact_id", pa.string()), ("tenant", pa.string()),
        ("region", pa.string()), ("channel", pa.string()), ("type", pa.string()),
        ("occurred_at", pa.timestamp("ms", tz="UTC")), ("kind", pa.string()),
        ("customer_category", pa.string()), ("office", pa.string()), ("agent", pa.string()),
        ("queue", pa.string()), ("topic", pa.string()), ("customer_ref", pa.string()),
        ("related_to", pa.string()), ("attributes", pa.map_(pa.string(), pa.string())),
    ])
    tables = [pa.Table.from_pylist([dict(zip(EVENT_COLUMNS, r, strict=True)) for r in c],
                                   schema=schema) for c in row_chunks]
    results.append(("raw chdb insert: prebuilt Arrow table (ceiling)",
                    timed(tables, lambda t: arrow_insert(warehouse, t))))
    return results


def freshness(warehouse: ChdbWarehouse, bootstrap: str, rate: int, seconds: int) -> list[float]:
    """ingested_at - occurred_at (ms) of events produced at ``rate``/s for ``seconds``."""
    from kafka import KafkaProducer

    settings = load_settings()
    topic = create_topic(bootstrap, "bench.sink.fresh")
    config = SinkConfig(bootstrap, [topic], f"fresh-{time.time()}",
                        BatchLimits(settings.sink_batch_rows, settings.sink_batch_seconds))
    sink, stop = Sink(warehouse, config), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    total = rate * seconds
    began = time.perf_counter()
    for i in range(total):
        due = began + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        event = make_event(i, int(time.time() * 1000), prefix="f")
        producer.send(topic, key=event.contact_id.encode(), value=encode_event(event))
    producer.flush()
    producer.close()
    deadline = time.monotonic() + 60
    while sink.stats.records < total and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(60)
    rows = warehouse.query(
        "SELECT toUnixTimestamp64Milli(ingested_at) - toUnixTimestamp64Milli(occurred_at) "
        "FROM events FINAL WHERE startsWith(event_id, 'f')")
    return sorted(float(r[0]) for r in rows)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=2_000, help="freshness: events/s")
    parser.add_argument("--seconds", type=int, default=20, help="freshness: duration")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-sink-"))
    broker = start_broker(tmp)
    warehouse = ChdbWarehouse(tmp / "warehouse")
    try:
        migrate(warehouse)
        results = throughput(warehouse, broker.bootstrap, args.n)
        warehouse.execute("TRUNCATE TABLE events")
        fresh = freshness(warehouse, broker.bootstrap, args.rate, args.seconds)
    finally:
        warehouse.close()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.n:,} contact events, batches of {BATCH:,} rows, 3 partitions")
    print(f"{'method':<58} {'rows/s':>10} {'sink / this':>12}")
    sink_rate = results[0][1]
    for name, rate in results:
        print(f"{name:<58} {rate:>10,.0f} {sink_rate / rate:>12.2f}")
    print(f"\nfreshness (produced -> visible), {len(fresh):,} events at {args.rate}/s, "
          f"batch limit {broker.settings.sink_batch_seconds:g} s:")
    print(f"  p50 {pct(fresh, 0.5):,.0f} ms   p95 {pct(fresh, 0.95):,.0f} ms   "
          f"p99 {pct(fresh, 0.99):,.0f} ms   max {max(fresh):,.0f} ms   "
          f"mean {statistics.fmean(fresh):,.0f} ms")
    print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
        "sink_rows_per_s": round(sink_rate), "sink_decoding_rows_per_s": round(results[1][1]),
        "raw_insert_rows_per_s": round(results[2][1]),
        "raw_adapter_rows_per_s": round(results[3][1]),
        "raw_arrow_rows_per_s": round(results[4][1]),
        "freshness_p50_ms": pct(fresh, 0.5), "freshness_p95_ms": pct(fresh, 0.95),
        "freshness_p99_ms": pct(fresh, 0.99),
    }))


if __name__ == "__main__":
    main()
