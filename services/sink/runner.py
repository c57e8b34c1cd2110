"""The sink's consumer loop: Kafka -> decode -> rows -> ClickHouse batch -> commit offsets.

At-least-once by construction: offsets are committed only after every table of the batch was
accepted by ClickHouse. A crash between insert and commit redelivers the batch; the tables are
ReplacingMergeTree keyed by the record's id and every shipped query reads them with FINAL,
argMax or LIMIT 1 BY (see services/analytics/sql.py), so a redelivered row never counts twice.

A record that cannot be decoded is counted and logged; its offset is committed with the batch
(so it is not redelivered forever) and the loop goes on. A batch ClickHouse refuses is never
committed: the error ends :meth:`Sink.run`, the consumer closes without committing, and the
caller (SinkThread, `kontakt sink`) starts again from the last committed offsets.

aiokafka, not kafka-python: its record parser is compiled, and consuming here measured 350k
records/s against kafka-python's 49k. One insert may run in a worker thread while the next
batch is consumed (chdb and clickhouse-driver release the GIL while they work); batches are
committed strictly in order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import HEADER_SIZE, DecodeError
from services.metrics import sink as metrics
from services.ports import Warehouse
from services.sink.batch import Batch, BatchLimits
from services.sink.contacts import ContactsProjector
from services.sink.encoded import EncodedPath
from services.sink.rows import TABLE_COLUMNS, record_rows

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SinkStats:
    """Running totals, read by tests, the benchmark and the CLI's final line."""

    records: int = 0
    rows: int = 0
    undecodable: int = 0
    rejected: int = 0
    batches: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)
    last_flush_at: float | None = None


@dataclass(frozen=True, slots=True)
class SinkConfig:
    bootstrap: str
    topics: Sequence[str]
    group_id: str
    limits: BatchLimits
    poll_records: int = 10_000
    #: project the touched contacts into ``contacts`` (services/sink/contacts.py)
    contacts: bool = True
    contacts_interval_s: float = 2.0
    contacts_recover_s: float = 6 * 3600


def _consumer(config: SinkConfig) -> Any:
    from aiokafka import AIOKafkaConsumer

    return AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap,
        group_id=config.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_wait_ms=100,
        client_id="kontakt-sink",
        # ingest writes each request as one transaction: never copy a failed request's
        # aborted records into the warehouse
        isolation_level="read_committed",
    )


class Sink:
    """One consumer-group member writing every subscribed topic to the warehouse."""

    def __init__(
        self,
        warehouse: Warehouse,
        config: SinkConfig,
        clock: Callable[[], float] = time.monotonic,
        encoded: bool = True,
    ) -> None:
        self.warehouse = warehouse
        self.config = config
        self.stats = SinkStats()
        self._clock = clock
        self._batch = Batch()
        self._consumer: Any = None
        self._inflight: asyncio.Task[None] | None = None
        self._read: dict[tuple[str, int], int] = {}  # next offset to read, per partition
        self._lag_at = 0.0  # when the lag gauge was last set (monotonic s)
        # contact events travel Avro-encoded when the warehouse can take them so (chdb)
        self._encoded = (EncodedPath() if encoded and callable(
            getattr(warehouse, "insert_encoded", None)) else None)
        self.contacts = (ContactsProjector(warehouse, config.contacts_interval_s,
                                           config.contacts_recover_s)
                         if config.contacts else None)

    def run(self, stop: threading.Event) -> SinkStats:
        """Consume until ``stop`` is set; flush what is held, commit, close. Raises when
        ClickHouse refuses a batch (nothing of it is committed)."""
        asyncio.run(self._run(stop))
        return self.stats

    async def _run(self, stop: threading.Event) -> None:
        from aiokafka import ConsumerRebalanceListener

        sink = self

        class _FlushOnRevoke(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked: Any) -> None:
                await sink.flush()  # the next owner starts from what we committed
                await sink.drain()

            async def on_partitions_assigned(self, assigned: Any) -> None:
                return None

        self._consumer = _consumer(self.config)
        self._consumer.subscribe(list(self.config.topics), listener=_FlushOnRevoke())
        await self._consumer.start()
        if self.contacts is not None:
            self.contacts.start()
        try:
            while not stop.is_set():
                await self.poll_once()
            await self.flush()
            await self.drain()
        finally:
            if self._inflight is not None and not self._inflight.done():
                self._inflight.cancel()
            await self._consumer.stop()
            self._consumer = None
            if self.contacts is not None:
                self.contacts.stop()  # projects what the accepted batches touched

    async def poll_once(self) -> None:
        limits = self.config.limits
        wait_s = limits.max_age_s
        if self._batch.started_at is not None:
            wait_s = max(0.0, limits.max_age_s - (self._clock() - self._batch.started_at))
        polled = await self._consumer.getmany(
            timeout_ms=int(min(wait_s, 0.5) * 1000), max_records=self.config.poll_records
        )
        now = self._clock()
        for tp, records in polled.items():
            for record in records:
                self._add(tp.topic, tp.partition, record.offset, record.value, now)
            if records:
                self._batch.stamp(records[0].timestamp, records[-1].timestamp)
                self._read[(tp.topic, tp.partition)] = records[-1].offset + 1
        if time.monotonic() - self._lag_at >= 1.0:
            self._note_lag()
        if self._inflight is not None and self._inflight.done():
            await self.drain()  # surfaces an insert error now rather than at the next flush
        if self._batch.due(self._clock(), limits):
            await self.flush()

    def _note_lag(self) -> None:
        """Per partition: its last stable offset (read_committed) less the next offset to
        read, from what the consumer already knows (no request to the broker)."""
        self._lag_at = time.monotonic()
        behind = []
        for tp in self._consumer.assignment():
            end = self._consumer.last_stable_offset(tp)
            if end is None:
                continue
            behind.append((tp.partition, end - self._read.get((tp.topic, tp.partition), end)))
        metrics.lag(behind)

    def _add(self, topic: str, partition: int, offset: int, value: bytes, now: float) -> None:
        if self._encoded is not None:
            hit = self._encoded.match(value)
            if hit is not None:
                key = (hit.table, hit.writer.fingerprint)
                self._batch.add_encoded(topic, partition, offset, key, value, now)
                return
        try:
            rows = record_rows(value)
        except DecodeError as exc:
            self._batch.add_undecodable(topic, partition, offset, now)
            log.warning("sink: undecodable record %s[%d]@%d: %s", topic, partition, offset, exc)
            return
        self._batch.add(topic, partition, offset, rows, now)

    async def flush(self) -> None:
        """Hand the held batch to a worker thread: insert every table, then commit."""
        if self._batch.started_at is None:
            return
        await self.drain()  # one batch in flight at most, so commits stay in order
        batch, self._batch = self._batch, Batch()
        self._inflight = asyncio.ensure_future(self._write(batch))

    async def drain(self) -> None:
        """Wait for the batch in flight (re-raising its error)."""
        task, self._inflight = self._inflight, None
        if task is not None:
            await task

    async def _write(self, batch: Batch) -> None:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._insert, batch)
        from aiokafka.structs import TopicPartition

        await self._consumer.commit(
            {
                TopicPartition(topic, partition): offset
                for (topic, partition), offset in batch.commit_offsets().items()
            }
        )
        self._account(batch)
        metrics.batch_written(batch.written, time.monotonic() - started, batch.oldest_ms,
                              batch.newest_ms, time.time())

    def _insert(self, batch: Batch) -> None:
        written = batch.written
        for (table, fingerprint), values in batch.encoded.items():
            done = self._insert_encoded(batch, table, fingerprint, values)
            written[table] = written.get(table, 0) + done
        for table, rows in batch.rows.items():
            rejected = insert_isolating(self.warehouse, table, rows)
            batch.rejected += len(rejected)
            written[table] = written.get(table, 0) + len(rows) - len(rejected)
        if self.contacts is not None:  # the events are in: the projector may read them
            self.contacts.note(batch.rows.get("events"), [
                v for (table, _), values in batch.encoded.items() if table == "events"
                for v in values], full=batch.row_count >= self.config.limits.max_rows)

    def _insert_encoded(self, batch: Batch, table: str, fingerprint: bytes,
                        values: list[bytes]) -> int:
        """Send Avro bodies as one container; if ClickHouse refuses it (a corrupt body behind a
        valid header), decode record by record in Python and insert the good ones as rows."""
        assert self._encoded is not None
        writer = self._encoded.writer(fingerprint)
        data = self._encoded.container(writer, [v[HEADER_SIZE:] for v in values])
        try:
            self.warehouse.insert_encoded(  # type: ignore[attr-defined]
                table, TABLE_COLUMNS[table], "Avro", data)
            return len(values)
        except Exception as exc:
            if not self.warehouse.ping():
                raise
            log.warning("sink: ClickHouse refused an Avro block for %s (%s); decoding its %d "
                        "records one by one", table, exc, len(values))
        rows: list[tuple[Any, ...]] = []
        for value in values:
            try:
                rows.extend(row for _, row in record_rows(value))
            except DecodeError as err:
                batch.undecodable += 1
                log.warning("sink: undecodable record for %s: %s", table, err)
        rejected = insert_isolating(self.warehouse, table, rows)
        batch.rejected += len(rejected)
        return len(rows) - len(rejected)

    def _account(self, batch: Batch) -> None:
        stats = self.stats
        stats.records += batch.records
        stats.undecodable += batch.undecodable
        stats.rejected += batch.rejected
        stats.batches += 1
        stats.last_flush_at = self._clock()
        for table, count in batch.written.items():
            stats.rows += count
            stats.rows_by_table[table] = stats.rows_by_table.get(table, 0) + count


def insert_isolating(warehouse: Warehouse, table: str, rows: list[Any]) -> list[Any]:
    """Insert ``rows``; if the batch is refused while ClickHouse is up, find the rows it
    refuses by bisection, insert the rest, and return the refused ones.

    Why: a record can decode and still not fit its table (a negative count for a UInt32
    column). Refusing the whole batch forever would stall the sink on one poison record.
    When ClickHouse itself is down (ping fails) the error is raised instead: nothing is lost,
    the batch is not committed and is delivered again.
    """
    try:
        warehouse.insert(table, TABLE_COLUMNS[table], rows)
        return []
    except Exception as exc:
        if not warehouse.ping():
            raise
        if len(rows) == 1:
            log.error("sink: %s refused a row, skipped: %r (%s)", table, rows[0], exc)
            return list(rows)
    half = len(rows) // 2
    return (insert_isolating(warehouse, table, rows[:half])
            + insert_isolating(warehouse, table, rows[half:]))
