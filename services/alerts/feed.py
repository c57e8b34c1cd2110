"""The API process's background consumer that keeps the live board current.

It reads the alerts, outcomes, metrics and acknowledgements topics (and phone contact events,
for staffing advice) without a consumer group: every API process sees everything. It starts a
short history back (settings.board_history_s) so that a fresh page is not empty, then follows
the topics live, folding each record into the LiveBoard and the StaffingTracker and handing the
resulting updates to the Hub. Broker outages are survived by reconnecting with backoff; topics
that appear later (a worker started after the API) are picked up by a periodic metadata check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from schemas.codec import CONTACT_EVENT, DecodeError, datum_to_event, decode
from services.alerts.hub import Hub
from services.alerts.live import LiveBoard, Update
from services.alerts.staffing import StaffingTracker
from services.settings import Settings

log = logging.getLogger(__name__)
BOARD_TOPICS = ("alerts", "outcomes", "metrics", "acknowledgements", "appeals")


def now_ms() -> int:
    return int(time.time() * 1000)


def coalesce(updates: list[Update]) -> list[Update]:
    """Only the last metrics row per group of a batch: the worker re-sends every group's
    figures each tick (several windows, several partitions), a page needs the newest once."""
    rows: dict[str, Update] = {}
    others = []
    for update in updates:
        if update.type == "group":
            rows.pop(update.data["key"], None)
            rows[update.data["key"]] = update
        else:
            others.append(update)
    return others + list(rows.values())


class BoardFeed:
    def __init__(self, settings: Settings, board: LiveBoard, hub: Hub,
                 staffing: StaffingTracker) -> None:
        self.settings = settings
        self.board = board
        self.hub = hub
        self.staffing = staffing
        self.topics = [settings.topic(t) for t in BOARD_TOPICS]
        self.topics.append(settings.topic(settings.events_topic))
        self.ready = asyncio.Event()  # set once the history has been read
        self.records = 0
        self.undecodable = 0

    def handle(self, value: bytes | None) -> list[Update]:
        """Fold one Kafka record value; see :meth:`fold`."""
        return self.fold([value])

    def fold(self, values: Iterable[bytes | None]) -> list[Update]:
        """Fold record values into the board and the staffing tracker; the board updates they
        caused (the caller publishes them, coalesced). Undecodable values are counted, skipped."""
        decoded = []
        for value in values:
            if not value:
                continue
            try:
                name, datum = decode(value)
            except DecodeError:
                self.undecodable += 1
                continue
            self.records += 1
            if name == CONTACT_EVENT:
                with contextlib.suppress(ValueError):
                    self.staffing.add(datum_to_event(datum))
            else:
                decoded.append((name, datum))
        return self.board.apply_batch(decoded)

    async def run(self) -> None:
        """Consume until cancelled, reconnecting after any failure."""
        delay = 0.5
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down, metadata errors: retry with backoff
                log.warning("board feed: %s: %s; retrying in %.1fs", type(exc).__name__, exc,
                            delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _consume(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            metadata_max_age_ms=5_000,
            request_timeout_ms=10_000,
            retry_backoff_ms=200,
            isolation_level="read_committed",  # aborted (failed) ingest transactions never show
        )
        await consumer.start()
        try:
            assigned: set[Any] = set()
            while True:
                tps = set()
                for topic in self.topics:
                    for p in consumer.partitions_for_topic(topic) or ():
                        tps.add(TopicPartition(topic, p))
                new = tps - assigned
                if new:
                    positions = {tp: await consumer.position(tp) for tp in assigned}
                    consumer.assign(sorted(tps))
                    for tp, pos in positions.items():
                        consumer.seek(tp, pos)
                    await self._seek_history(consumer, new)
                    assigned = tps
                if not assigned:
                    await consumer.topics()  # refresh metadata; topics may not exist yet
                    await asyncio.sleep(1.0)
                    continue
                await self._drain(consumer, catch_up=not self.ready.is_set())
                self.ready.set()
                self.board.prune(now_ms())
                self.staffing.prune(now_ms())
                await consumer.topics()
        finally:
            await consumer.stop()

    async def _seek_history(self, consumer: Any, tps: set[Any]) -> None:
        since = now_ms() - self.settings.board_history_s * 1000
        found = await consumer.offsets_for_times({tp: since for tp in tps})
        for tp in tps:
            meta = found.get(tp)
            if meta is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, meta.offset)

    async def _drain(self, consumer: Any, *, catch_up: bool) -> None:
        """Read for up to ~5 s (then look for new topics); when catching up, until caught up."""
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            values = [record.value for records in batches.values() for record in records]
            self.hub.publish(coalesce(self.fold(values)))
            if catch_up and not batches:
                return
            await asyncio.sleep(0)
