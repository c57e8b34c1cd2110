"""faust's aiokafka transport, reading only committed records (``read_committed``).

The ingest API writes each request as one Kafka transaction and aborts it when the request
fails (services/adapters/kafka_transactional.py): the client got a 503 and the events "did not
happen" until it retries. faust reads ``read_uncommitted`` unless it runs its own exactly-once
mode (which the project does not trust), so the worker would fold the events of an aborted
request -- a contact with no accepted event could raise a breach. This transport's consumer is
aiokafka's with ``isolation_level='read_committed'``, as the sink, the board feed and the test
reader already use. Non-transactional records (the worker's own outputs and changelog, the
simulator) are unaffected: with no open transaction the last stable offset is the high
watermark.

The consumer thread also notes, after every fetch, each partition's position and the highest
record offset it has returned (``fetch_state``): with the offsets the agent has folded, that
tells the worker how far it has read each partition (streams.watermarks).

The fetch wait (``fetch_max_wait_ms``): faust creates the consumer with 1500 ms. aiokafka keeps
one fetch in flight per broker, and leaves out of it the partitions whose fetched records
the worker has not taken yet (after a 100 ms back-off it sends the fetch anyway). When the
worker is a little late taking records (a long batch, a garbage collection), the fetch goes out
with only the quiet partitions in it (storm counts, appeal-events), and the broker holds it
for the whole wait: for that time no contact-events partition is fetched. Measured after a
backlog at 2,000 events/s: records then came in chunks of ~1,600 every ~750 ms and stayed
1.2-1.5 s behind the log; with 100 ms, ~100 every 50 ms and 70-100 ms behind (docs/streams.md
"Fetch wait"). The transport takes the value from the worker's settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

#: services.settings' worker_fetch_max_wait_ms has the same default (a test pins it)
DEFAULT_FETCH_MAX_WAIT_MS = 100
#: (topic, partition) -> (position, highest offset returned since assigned, or None)
FetchState = Mapping[tuple[str, int], tuple[int, int | None]]


class ReadCommittedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    fetch_state: FetchState = {}
    _assignment: object = None

    def _create_consumer(self, loop: asyncio.AbstractEventLoop) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_consumer(loop)
        # aiokafka keeps the level until start() builds its fetcher; faust passes no option
        consumer._isolation_level = "read_committed"
        transport = self.consumer.transport
        if isinstance(transport, ReadCommittedTransport):
            consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms
        return consumer

    async def _fetch_records(
        self, consumer: aiokafka.AIOKafkaConsumer, active_partitions: Any,
        timeout: float | None = None, max_records: int | None = None,
    ) -> Any:
        records = await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records)
        self._note_positions(consumer, records)
        return records

    def _note_positions(self, consumer: aiokafka.AIOKafkaConsumer, records: Any) -> None:
        """Positions right after the fetch, in this (the consumer's) thread, with the highest
        offset handed over: one new mapping, swapped in whole for the worker's loop to read."""
        assignment = consumer._subscription.subscription
        assignment = None if assignment is None else assignment.assignment
        if assignment is None:
            self.fetch_state = {}
            return
        before = self.fetch_state if assignment is self._assignment else {}
        self._assignment = assignment
        state: dict[tuple[str, int], tuple[int, int | None]] = {}
        for tp in assignment.tps:
            tp_state = assignment.state_value(tp)
            if tp_state is None or not tp_state.has_valid_position:
                continue
            key = (tp.topic, tp.partition)
            got = records.get(tp) if records else None
            last = got[-1].offset if got else None
            old = before.get(key)
            if old is not None and old[1] is not None and (last is None or old[1] > last):
                last = old[1]
            state[key] = (tp_state.position, last)
        self.fetch_state = state


class ReadCommittedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def fetch_state(self) -> FetchState:
        """What the consumer thread noted after its last fetch (empty before the first)."""
        thread = self._thread
        return thread.fetch_state if isinstance(thread, ReadCommittedConsumerThread) else {}


class ReadCommittedTransport(faust_aiokafka.Transport):
    Consumer = ReadCommittedConsumer
    fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS


def use_read_committed(app: faust.App,
                       fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
    """Give ``app`` the read_committed transport, whose consumer holds a fetch of quiet
    partitions at most ``fetch_max_wait_ms`` (before it starts)."""
    conf: Any = app.conf
    transport = ReadCommittedTransport(conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    app.transport = transport
