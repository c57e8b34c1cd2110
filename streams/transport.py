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
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class ReadCommittedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_consumer(self, loop: asyncio.AbstractEventLoop) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_consumer(loop)
        # aiokafka keeps the level until start() builds its fetcher; faust passes no option
        consumer._isolation_level = "read_committed"
        return consumer


class ReadCommittedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class ReadCommittedTransport(faust_aiokafka.Transport):
    Consumer = ReadCommittedConsumer


def use_read_committed(app: faust.App) -> None:
    """Give ``app`` the read_committed transport (before it starts)."""
    conf: Any = app.conf
    app.transport = ReadCommittedTransport(conf.broker_consumer, app)
