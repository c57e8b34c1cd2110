"""Faust glue of the live appeals (docs/appeals.md "Live linking"). No linking rules here: the
pure :mod:`streams.sla.appeal_stream` decides; this module reads the clock, the table and sends.

- The ``contact-events`` agent forwards every event it folded whose contact names a customer,
  as its raw bytes, to the internal ``appeal-events`` topic keyed by ``tenant|customer_ref``
  (streams.appeal_links.route; the contact's customer_ref from its state when the event names
  none). A contact that names no customer is its own appeal and is linked in place by that
  agent, without the re-keying (streams.appeal_links). The re-keying is a topic the worker
  writes itself rather than one the ingest also writes: the ingest API is not the only producer
  of contact-events (channel adapters, replays, tests write it directly), and an event whose
  customer_ref only a previous event named can be keyed right only where the contact's state is.
- The ``appeal-events`` agent folds each event into its key's table value (the customer's
  recent contacts) and sends an ``AppealUpdated`` for every appeal whose figures changed to the
  ``appeals`` topic, which the sink writes to ``appeal_links``.

At least once, idempotent: the table write and the records go out in one ``worker.produce``
call (faust flushes the producer before committing the input offsets); a redelivered event
re-emits its appeal with the same figures and update id.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from schemas.codec import decode_event
from streams.agents import SWEEP_BATCH, _dead_letter, now_ms, stored_value
from streams.appeal_links import Links, keep_ms, link, write_links
from streams.outbox import OutRecord
from streams.sla.appeal_stream import decode_state, expired

if TYPE_CHECKING:
    from streams.worker import Worker

log = logging.getLogger(__name__)
BATCH_MAX = 500
BATCH_WITHIN_S = 0.05


async def handle_appeal_batch(worker: Worker, events: Sequence[Any], now: int) -> None:
    """Fold a batch of re-keyed events; write each changed key once; send the updates."""
    out: list[OutRecord] = []
    links: Links = {}
    for event in events:
        key = event.key if isinstance(event.key, bytes) else b""
        raw = event.value if isinstance(event.value, bytes) else b""
        try:
            link(worker, key, event.message.partition, decode_event(raw), links, out, now)
        except Exception as exc:  # undecodable or a state the core rejects: park it
            log.exception("cannot link the appeal of a message on %s", key)
            out.append(_dead_letter(event, worker, f"appeal: {exc}", exc))
    write_links(worker, links, out)
    await worker.produce(out)


async def sweep_appeals(worker: Worker, now: int) -> None:
    """Retention of the appeal table, as streams.agents.sweep_contacts does for contacts: each
    tick looks at the next SWEEP_BATCH keys and deletes (store + changelog tombstone) those
    with no event for the appeal window plus worker_appeal_keep_days."""
    if not worker.ready or worker.app.should_stop or worker.appeal_table is None:
        return
    table = worker.appeal_table
    store = table.data
    if worker.appeal_sweep is None:
        worker.appeal_sweep = iter(store.items())
    try:
        batch = list(itertools.islice(worker.appeal_sweep, SWEEP_BATCH))
    except RuntimeError:  # the memory store's dict changed under the pass
        worker.appeal_sweep = None
        return
    if len(batch) < SWEEP_BATCH:
        worker.appeal_sweep = None
    changelog = table.changelog_topic.get_topic_name()
    out: list[OutRecord] = []
    for key, _seen in batch:
        value = stored_value(store, key)
        if value is None:
            continue
        state = decode_state(value)
        if not expired(state, now, keep_ms(worker)):
            continue
        partition = _partition_of(worker, key) if state.partition is None else state.partition
        del store[key]
        out.append(OutRecord(changelog, key, None, partition))
    if out:
        log.info("retention: %d customers left the appeal table", len(out))
        await worker.produce(out)


def _partition_of(worker: Worker, key: bytes) -> int:
    """The partition of appeal-events (and so of the table) a key was produced to: the
    producer's default partitioner (murmur2), as for every keyed record the worker sends."""
    from aiokafka.partitioner import DefaultPartitioner

    partitions = list(range(worker.settings.topic_partitions))
    return int(DefaultPartitioner()(key, partitions, partitions))


def register_appeal_agent(worker: Worker) -> None:
    if worker.appeal_events is None:
        return

    @worker.app.timer(worker.settings.worker_sweep_interval_s, name="appeal-retention")
    async def appeal_retention_timer() -> None:
        await sweep_appeals(worker, now_ms())

    @worker.app.agent(worker.appeal_events, name="appeal-events", concurrency=1)
    async def link_appeals(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await handle_appeal_batch(worker, events, now_ms())
            yield None
