"""Where each partition of a topic ends, asked of the broker by a small client of its own.

The read watermarks (streams.watermarks) need, every timer tick, the last stable offset of each
events partition with the instant the question was sent. faust's consumer could answer, but it
runs in its own thread and serves calls one at a time, behind a fetch that waits up to a second
for records; an aiokafka consumer that never subscribes, on the worker's own event loop, answers
in a round trip. ``read_committed``, as the worker reads: the end is the last stable offset.
"""

from __future__ import annotations

import aiokafka
from aiokafka.structs import TopicPartition


class LogEnds:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._client = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level="read_committed",
            enable_auto_commit=False, request_timeout_ms=5_000, client_id="kontakt-log-ends",
        )
        self._started = False

    async def ends(self, partitions: list[int]) -> dict[int, int]:
        """partition -> its last stable offset (records below it are committed or aborted)."""
        if not self._started:
            await self._client.start()
            self._started = True
        tps = [TopicPartition(self.topic, p) for p in partitions]
        got = await self._client.end_offsets(tps)
        return {tp.partition: offset for tp, offset in got.items() if offset is not None}

    async def close(self) -> None:
        if self._started:
            self._started = False
            await self._client.stop()
