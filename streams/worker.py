"""What the agents work with: the faust App, its topics, the contacts table and the processor,
built once per process by :func:`streams.app.create_worker` (or per test), the one call that
produces records and the one read of the wall clock (``now_ms``). Its own module so that the
agents (streams.agents) and the factory (streams.app) each depend on it, and neither on the
other's back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import faust
from faust.types import TP

from services.readiness import Beacon
from services.settings import Settings
from streams.log_ends import LogEnds
from streams.metrics import WorkerMetrics
from streams.outbox import Delivery, Outbox, OutRecord
from streams.partition_store import PartitionStore, partition_store
from streams.processor import ContactProcessor
from streams.storm import StormDetector
from streams.watermarks import ReadWatermarks

Sender = Callable[[list[OutRecord]], Awaitable[None]]


def now_ms() -> int:
    """The wall clock, read only at the faust edge and passed into the pure code."""
    return int(time.time() * 1000)


@dataclass
class Worker:
    """Everything the agents need, built once per process (or per test)."""

    settings: Settings
    app: faust.App
    events: faust.TopicT
    alerts: faust.TopicT
    outcomes: faust.TopicT
    metrics: faust.TopicT
    dead_letters: faust.TopicT
    storm_counts: faust.TopicT
    contacts: Any  # faust Table of contact_id bytes -> processor table value bytes
    processor: ContactProcessor
    storm: StormDetector
    ready: bool = False  # set once the table is recovered and the processor rebuilt
    sender: Sender | None = None  # tests record sends instead of producing
    outbox: Outbox | None = None  # made on first use: faust's producer starts with the app
    sweep: Iterator[tuple[bytes, bytes]] | None = None  # the retention pass in progress
    beacon: Beacon | None = None  # readiness reports (kontakt worker sets it; tests do not)
    log_ends: LogEnds | None = None  # the end-offset client of sample_log_ends, made on use
    watermarks: ReadWatermarks = field(default_factory=ReadWatermarks)  # how far each
    # partition of the events topic is read (streams.judgement)
    held_back_warned: dict[int, int] = field(default_factory=dict)  # partition -> when
    # live appeals (settings.worker_appeals; streams.appeal_agent): the events re-keyed by
    # customer, the AppealUpdated output and the table of each customer's recent contacts
    appeal_events: faust.TopicT | None = None
    appeals: faust.TopicT | None = None
    appeal_table: Any = None  # faust Table of appeal key bytes -> appeal_stream state bytes
    appeal_linked_at: int = 0  # the last linked_at given (streams.appeal_agent)
    appeal_sweep: Iterator[tuple[bytes, bytes]] | None = None  # its retention pass
    telemetry: WorkerMetrics | None = None  # Prometheus tallies (None: metrics off)
    committing: asyncio.Lock = field(default_factory=asyncio.Lock)  # streams.agents.commit
    _stores: dict[int, PartitionStore] = field(default_factory=dict)  # id(table) -> adapter

    def contact_store(self) -> PartitionStore:
        """The contacts table's store, read and written by partition (streams.partition_store)."""
        return self.store_of(self.contacts)

    def store_of(self, table: Any) -> PartitionStore:
        store = self._stores.get(id(table))
        if store is None:
            store = self._stores[id(table)] = partition_store(table)
        return store

    async def produce(self, records: list[OutRecord], acknowledged: bool = False) -> None:
        """Send ``records`` (the only producing call). Each topic partition's records go to
        the producer as one batch (streams.outbox); faust flushes that producer before it
        commits input offsets. A changelog batch, once acknowledged, moves the table's
        persisted offset for its partition, as faust's own changelog callback does.
        ``acknowledged``: return only once the broker has acknowledged every record."""
        if not records:
            return
        if self.sender is not None:
            await self.sender(records)
            return
        if self.outbox is None:
            # the aiokafka producer faust started (and flushes before each commit)
            self.outbox = Outbox(cast(Any, self.app.producer)._ensure_producer())
        tables = {t.changelog_topic.get_topic_name(): t
                  for t in (self.contacts, self.appeal_table) if t is not None}
        deliveries = await self.outbox.send(records)
        for delivery in deliveries:
            table = tables.get(delivery.topic)
            if table is not None:
                delivery.future.add_done_callback(self._changelog_persisted(table, delivery))
        if acknowledged:  # wait until the broker has every batch (streams.agents.commit)
            await asyncio.gather(*(d.future for d in deliveries))

    def _changelog_persisted(self, table: Any, delivery: Delivery) -> Callable[[Any], None]:
        store = table.data
        tp = TP(delivery.topic, delivery.partition)

        def persisted(future: Any) -> None:
            if not future.cancelled() and future.exception() is None:
                store.set_persisted_offset(tp, future.result().offset + delivery.count - 1)

        return persisted
