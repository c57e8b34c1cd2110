"""Faust glue: agents, timers and rebalance hooks. No SLA arithmetic here -- each body reads the
wall clock, calls the ContactProcessor / StormDetector and sends what they return.

- ``contact-events`` agent (concurrency 1, batches of up to BATCH_MAX events): decode, fold
  into the contacts table (one write per contact per batch), emit changed outcomes (outcomes
  topic) and alerts (alerts topic). An undecodable or unprocessable message
  goes to the dead-letter topic with the reason in its headers, and the stream goes on.
- deadline timer (every ``worker_timer_interval_s``): re-evaluates the contacts whose next
  instant of change has passed (warnings, breaches) -- the wall clock drives it.
- metrics timer (every ``worker_metrics_interval_s``): live figures to the metrics topic, and
  new phone contacts per region/minute to the internal storm-counts topic.
- ``storm-counts`` agent + storm timer: the outage-storm rule, one partition so one worker sees
  every region.
- table recovery callback: rebuilds the deadline heap and live figures from the table after
  every recovery/rebalance; the timers pause between a revocation and the next recovery.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from faust.streams import _current_event

from schemas.codec import decode_event
from streams import emissions
from streams.processor import Entry, encode_value
from streams.storm import StormDetector

if TYPE_CHECKING:
    from streams.app import Worker

log = logging.getLogger(__name__)
ALERT_STORM = "OutageStormSuspected"
#: Input events folded per batch, and the longest wait for a batch to fill. The batch is
#: processed without an await (see handle_batch), so it holds the deadline timer back for at
#: most its processing time: ~500 events take well under 0.2 s, inside the 1 s breach bound.
BATCH_MAX = 500
BATCH_WITHIN_S = 0.05


def now_ms() -> int:
    """The wall clock, read only at the faust edge and passed into the pure code."""
    return int(time.time() * 1000)


def dead_letter_headers(reason: str, exc: BaseException, event: Any) -> list[tuple[str, bytes]]:
    message = event.message
    return [
        ("reason", reason.encode()[:2000]),
        ("error", type(exc).__name__.encode()),
        ("source-topic", str(message.topic).encode()),
        ("source-partition", str(message.partition).encode()),
        ("source-offset", str(message.offset).encode()),
    ]


Send = tuple[Any, bytes, Any, "list[tuple[str, bytes]] | None"]


def emission_sends(worker: Worker, emission: emissions.Emission, out: list[Send]) -> None:
    """Append the records of ``emission`` to ``out`` (outcomes first, then alerts)."""
    for record in emission.outcomes:
        out.append((worker.outcomes, record["contact_id"].encode(),
                    (emissions.OUTCOME, record), None))
    for record in emission.alerts:
        out.append((worker.alerts, record["contact_id"].encode(),
                    (emissions.SLA_ALERT, record), None))


async def send_all(worker: Worker, sends: list[Send]) -> None:
    """Hand the records to the producer. Each ``send`` only appends to aiokafka's open batch
    (it waits for nothing but a full batch); delivery is flushed by faust before it commits."""
    for topic, key, value, headers in sends:
        await worker.send(topic, key, value, headers)


async def send_emission(worker: Worker, emission: emissions.Emission) -> None:
    sends: list[Send] = []
    emission_sends(worker, emission, sends)
    await send_all(worker, sends)


def as_current(event: Any) -> None:
    """Make ``event`` faust's current event. The table (and its RocksDB store) takes the
    partition of a key it reads or writes from the current event; in a ``take_events`` batch
    that is not set in the agent's task (the stream is drained by another task), so the batch
    sets it to the event the key came from before touching the table."""
    _current_event.set(weakref.ref(event))


async def handle_batch(worker: Worker, events: Sequence[Any]) -> None:
    """A batch of input messages: fold each into its contact, then write each changed
    contact's table value once, then send every record the batch produced.

    The folding and the table writes run without an await, so the deadline timer (its own
    faust task) cannot change an entry between its fold and its encoding; the value written
    is exactly what ``on_event`` would have written after the contact's last event of the
    batch, step log included (one step per input offset, so a redelivered batch re-sends
    what each of its offsets emitted)."""
    sends: list[Send] = []
    changed: dict[bytes, tuple[Any, Entry]] = {}
    for event in events:
        fold_event(worker, event, changed, sends)
    table = worker.contacts
    for key, (event, entry) in changed.items():
        as_current(event)
        table[key] = encode_value(entry)
    _current_event.set(None)
    await send_all(worker, sends)


def fold_event(
    worker: Worker, event: Any, changed: dict[bytes, tuple[Any, Entry]], sends: list[Send]
) -> None:
    """One input message: decode and fold it (``changed`` gets the contact's new entry,
    ``sends`` its records); or dead-letter it."""
    raw = event.value
    try:
        contact_event = decode_event(raw if isinstance(raw, bytes) else b"")
    except ValueError as exc:
        sends.append(_dead_letter(event, worker, f"undecodable: {exc}", exc))
        return
    key = contact_event.contact_id.encode()
    processor = worker.processor
    try:
        pending = changed.get(key)
        stored: bytes | Entry | None = pending[1] if pending is not None else None
        if stored is None and not processor.is_cached(contact_event.contact_id):
            as_current(event)
            stored = worker.contacts.get(key)
        message = event.message
        entry, emission = processor.apply_event(
            stored, contact_event, message.partition, message.offset, now_ms()
        )
    except Exception as exc:  # a bug or a state the core rejects: park it, keep going
        log.exception("cannot process event %s", contact_event.event_id)
        sends.append(_dead_letter(event, worker, f"unprocessable: {exc}", exc))
        return
    if entry is not None:
        changed[key] = (event, entry)
    emission_sends(worker, emission, sends)


def _dead_letter(event: Any, worker: Worker, reason: str, exc: BaseException) -> Send:
    return (worker.dead_letters, event.key, event.value, dead_letter_headers(reason, exc, event))


def register_agents(worker: Worker) -> None:
    """Attach the agents and timers to ``worker.app``."""
    app = worker.app
    settings = worker.settings
    table = worker.contacts

    @app.agent(worker.events, name="contact-events", concurrency=1)
    async def process_events(stream: Any) -> AsyncIterator[None]:
        # Batches: faust acks the events of a batch only when the body asks for the next
        # one, i.e. after handle_batch has folded, written and handed over all of them, so
        # offsets are never committed past an unprocessed event (concurrency stays 1).
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await handle_batch(worker, events)
            yield None

    @table.on_recover
    async def rebuild_after_recovery() -> None:
        started = time.monotonic()
        worker.processor.rebuild(table.items(), now_ms())
        worker.ready = True
        log.info("deadline heap rebuilt: %d open contacts in %.2fs",
                 len(worker.processor.heap), time.monotonic() - started)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def pause_timers(sender: Any, revoked: Any, **_: Any) -> None:
        worker.ready = False

    @app.timer(settings.worker_timer_interval_s, name="sla-deadlines")
    async def deadlines_timer() -> None:
        await fire_deadlines(worker)

    @app.timer(settings.worker_metrics_interval_s, name="live-metrics")
    async def metrics_timer() -> None:
        await publish_metrics(worker)

    @app.agent(worker.storm_counts, name="storm-counts", concurrency=1)
    async def count_storms(stream: Any) -> AsyncIterator[None]:
        async for counts in stream:
            observe_storm(worker.storm, counts)
            yield None

    @app.timer(settings.worker_metrics_interval_s, name="storm-rule")
    async def storm_timer() -> None:
        await raise_storms(worker)


async def fire_deadlines(worker: Worker) -> None:
    """Emit what changed for every contact whose next instant has passed."""
    if not worker.ready or worker.app.should_stop:
        return
    table = worker.contacts
    for emission in worker.processor.on_timer(now_ms(), lambda c: table.get(c.encode())):
        await send_emission(worker, emission)


async def publish_metrics(worker: Worker) -> None:
    """Live figures to the metrics topic; new phone contacts to the storm-counts topic."""
    if not worker.ready or worker.app.should_stop:
        return
    for record in worker.processor.snapshots(now_ms()):
        key = "|".join(str(record[k] or "") for k in ("tenant", "channel", "region", "office"))
        await worker.send(worker.metrics, key.encode(), ("MetricsSnapshotTaken", record))
    for counts in worker.processor.storm.drain():
        await worker.send(worker.storm_counts, counts["region"].encode(), counts)


async def raise_storms(worker: Worker) -> None:
    if worker.app.should_stop:
        return
    for alert in worker.storm.evaluate(now_ms()):
        await worker.send(worker.alerts, alert["region"].encode(), (ALERT_STORM, alert))


def observe_storm(detector: StormDetector, counts: dict[str, Any]) -> None:
    detector.observe(counts["region"], int(counts["minute"]), int(counts["total"]),
                     int(counts["outage"]))
