"""Faust glue: agents, timers and rebalance hooks. No SLA arithmetic here -- each body reads the
wall clock, calls the ContactProcessor / StormDetector and sends what they return.

- ``contact-events`` agent (concurrency 1): decode, fold into the contacts table, emit changed
  outcomes (outcomes topic) and alerts (alerts topic). An undecodable or unprocessable message
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
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from schemas.codec import decode_event
from streams import emissions
from streams.storm import StormDetector

if TYPE_CHECKING:
    from streams.app import Worker

log = logging.getLogger(__name__)
ALERT_STORM = "OutageStormSuspected"


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


async def send_emission(worker: Worker, emission: emissions.Emission) -> None:
    for record in emission.outcomes:
        key = record["contact_id"].encode()
        await worker.send(worker.outcomes, key, (emissions.OUTCOME, record))
    for record in emission.alerts:
        key = record["contact_id"].encode()
        await worker.send(worker.alerts, key, (emissions.SLA_ALERT, record))


async def handle_event(worker: Worker, event: Any) -> None:
    """One input message: decode, fold, store, emit; or dead-letter it."""
    raw = event.value
    try:
        contact_event = decode_event(raw if isinstance(raw, bytes) else b"")
    except ValueError as exc:
        await _dead_letter(worker, event, f"undecodable: {exc}", exc)
        return
    key = contact_event.contact_id.encode()
    try:
        cached = worker.processor.is_cached(contact_event.contact_id)
        stored = None if cached else worker.contacts.get(key)
        value, emission = worker.processor.on_event(
            stored, contact_event, event.message.partition, event.message.offset, now_ms()
        )
    except Exception as exc:  # a bug or a state the core rejects: park it, keep going
        log.exception("cannot process event %s", contact_event.event_id)
        await _dead_letter(worker, event, f"unprocessable: {exc}", exc)
        return
    if value is not None:
        worker.contacts[key] = value
    await send_emission(worker, emission)


async def _dead_letter(worker: Worker, event: Any, reason: str, exc: BaseException) -> None:
    headers = dead_letter_headers(reason, exc, event)
    await worker.send(worker.dead_letters, event.key, event.value, headers)


def register_agents(worker: Worker) -> None:
    """Attach the agents and timers to ``worker.app``."""
    app = worker.app
    settings = worker.settings
    table = worker.contacts

    @app.agent(worker.events, name="contact-events", concurrency=1)
    async def process_events(stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            await handle_event(worker, event)
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
