"""Faust glue: agents, timers and rebalance hooks. No SLA arithmetic here -- each body reads the
wall clock, calls the ContactProcessor / StormDetector and sends what they return.

- ``contact-events`` agent (concurrency 1, batches of up to BATCH_MAX events): decode, fold
  into the contacts table (one write per contact per batch), emit changed outcomes (outcomes
  topic) and alerts (alerts topic). An undecodable or unprocessable message
  goes to the dead-letter topic with the reason in its headers, and the stream goes on.
  With live appeals on, each folded event whose contact names a customer is also forwarded,
  as read, to the internal ``appeal-events`` topic keyed by customer (streams.appeal_agent
  links them); a contact without one is its own appeal, emitted in place from its state
  (streams.appeal_links).
- deadline timer (every ``worker_timer_interval_s``): re-evaluates the contacts whose next
  instant of change has passed (warnings, breaches) -- the wall clock drives it, held back per
  partition by how far its log is read (``judgement``; docs/streams.md "Judged against the
  log").
- log-ends timer (same interval): asks the broker where each events partition ends, the
  samples the read watermarks are made of (streams.watermarks).
- metrics timer (every ``worker_metrics_interval_s``): live figures to the metrics topic, and
  new phone contacts per tenant/region/minute to the internal storm-counts topic.
- ``storm-counts`` agent + storm timer: the outage-storm rule (per tenant and region), one
  partition so one worker sees every tenant and region.
- table recovery callback: rebuilds the deadline heap and live figures from the table after
  every recovery/rebalance; the timers pause between a revocation and the next recovery.
- retention sweep (every ``worker_sweep_interval_s``): finished contacts older than
  ``worker_retention_days`` leave the table (store + changelog tombstone).
- readiness: after each deadline tick the worker reports its phase (joining, recovering, ready)
  to ``data_dir/run/workers`` (services.readiness), which /health and `kontakt up` read.
- gc-freeze timer (every ``worker_gc_freeze_s``): streams.gc_policy, so that full garbage
  collections do not walk every open contact and hold the deadline timer back.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from schemas.codec import decode_event, encode
from schemas.units import DAY_MS
from services.readiness import Beacon, phase_of
from streams import appeal_links, emissions, gc_policy
from streams.judgement import NOT_JUDGED, judgement, sample_log_ends
from streams.outbox import OutRecord
from streams.processor import Entry, decode_value, encode_value
from streams.storm import StormDetector
from streams.worker import now_ms

if TYPE_CHECKING:
    from streams.worker import Worker

log = logging.getLogger(__name__)
ALERT_STORM = "OutageStormSuspected"
#: Input events folded per batch, and the longest wait for a batch to fill. The batch is
#: processed without an await (see handle_batch), so it holds the deadline timer back for at
#: most its processing time: ~500 events take well under 0.2 s, inside the 1 s breach bound.
BATCH_MAX = 500
BATCH_WITHIN_S = 0.05
#: Table values the retention sweep looks at per tick (a pass over the table takes
#: table size / SWEEP_BATCH ticks of worker_sweep_interval_s).
SWEEP_BATCH = 2_000


def dead_letter_headers(reason: str, exc: BaseException, event: Any) -> list[tuple[str, bytes]]:
    message = event.message
    return [
        ("reason", reason.encode()[:2000]),
        ("error", type(exc).__name__.encode()),
        ("source-topic", str(message.topic).encode()),
        ("source-partition", str(message.partition).encode()),
        ("source-offset", str(message.offset).encode()),
    ]


def emission_records(worker: Worker, emission: emissions.Emission, out: list[OutRecord]) -> None:
    """Append the records of ``emission`` to ``out`` (outcomes first, then alerts), as the
    processor encoded them (streams.step_log.seal / resent)."""
    outcomes, alerts = worker.outcomes.get_topic_name(), worker.alerts.get_topic_name()
    for record, value in zip(emission.outcomes, emission.outcome_bytes, strict=True):
        out.append(OutRecord(outcomes, record["contact_id"].encode(), value))
    tally = worker.telemetry
    for record, value in zip(emission.alerts, emission.alert_bytes, strict=True):
        out.append(OutRecord(alerts, record["contact_id"].encode(), value))
        if tally is not None:
            tally.alert(record, emissions.is_retraction(record))


def write_timer_entries(worker: Worker, out: list[OutRecord]) -> None:
    """The table write of each contact the deadline timer changed (ContactProcessor
    .take_unwritten): its value, timer records included, into the store of its partition and
    to the changelog (``out``), as write_contacts does for events."""
    taken = worker.processor.take_unwritten()
    if not taken:
        return
    write_values(worker, ((contact_id.encode(), entry.partition, entry)
                          for contact_id, entry in taken), out)


def write_values(worker: Worker, writes: Iterable[tuple[bytes, int, Entry]],
                 out: list[OutRecord]) -> None:
    """Each (key, partition, entry): the encoded entry into the store of that partition, and
    the same key and value as a changelog record to that partition."""
    store = worker.contact_store()
    changelog = worker.contacts.changelog_topic.get_topic_name()
    for key, partition, entry in writes:
        value = encode_value(entry)
        store.put(partition, key, value)
        out.append(OutRecord(changelog, key, value, partition))


async def handle_batch(worker: Worker, events: Sequence[Any]) -> None:
    """A batch of input messages: fold each into its contact, then write each changed
    contact's table value once, then send every record the batch produced.

    The folding and the table writes run without an await, so the deadline timer (its own
    faust task) cannot change an entry between its fold and its encoding; the value written
    is exactly what ``on_event`` would have written after the contact's last event of the
    batch, step log included (one step per input offset, so a redelivered batch re-sends
    what each of its offsets emitted)."""
    started = time.perf_counter()
    out: list[OutRecord] = []
    changed: dict[bytes, tuple[Any, Entry]] = {}
    judged = judgement(worker, now_ms())
    for event in events:
        fold_event(worker, event, changed, out, judged)
    table: list[OutRecord] = []
    write_contacts(worker, changed, table)
    await commit(worker, table, out)
    if worker.telemetry is not None:
        worker.telemetry.batch(len(events), time.perf_counter() - started, time.time())


async def commit(worker: Worker, table: list[OutRecord], records: list[OutRecord]) -> None:
    """Send ``table`` (changelog records) and wait for the broker's acknowledgement, then hand
    ``records`` (outcomes, alerts, ...) to the producer; one commit at a time, so the alerts
    topic keeps the order in which the deadline timer and the events agent emitted.

    Why the changelog first: after a SIGKILL, what reached the broker is all a restarted worker
    knows. A breach alert sent without the table value that records it could never be
    retracted -- the restarted worker re-reads the answer, finds the clock met and sees nothing
    to take back (a false breach left standing; tests/integration/test_no_false_breaches). The
    other way round nothing is lost either: a value whose records did not go out is re-sent
    from its step log (a re-delivered offset) or its timer records (Entry.pending, at
    recovery). Cost: one produce round trip per batch and timer tick that changed a contact."""
    async with worker.committing:
        if table:
            try:
                await worker.produce(table, acknowledged=True)
            except Exception as exc:  # the producer retries; a failed batch is faust's to see
                log.warning("table changelog not acknowledged (%s: %s); records sent anyway",
                            type(exc).__name__, exc)
        await worker.produce(records)


def write_contacts(
    worker: Worker, changed: dict[bytes, tuple[Any, Entry]], out: list[OutRecord]
) -> None:
    """The table write of each changed contact: its value into the store (RocksDB) of the
    partition its events came from, and the same key and value as a changelog record to that
    partition, sent with the batch's other records (what ``table[key] = value`` does, without
    faust's one-record-at-a-time changelog buffer)."""
    write_values(worker, ((key, event.message.partition, entry)
                          for key, (event, entry) in changed.items()), out)


def fold_event(
    worker: Worker, event: Any, changed: dict[bytes, tuple[Any, Entry]], out: list[OutRecord],
    judged: dict[int, int] | None,
) -> None:
    """One input message: decode and fold it (``changed`` gets the contact's new entry,
    ``out`` its records); or dead-letter it. ``judged``: partition -> the instant its open
    clocks are judged at (None: the wall clock; a partition missing: not judged yet)."""
    message = event.message
    worker.watermarks.processed(message.partition, message.offset)
    raw = event.value
    try:
        contact_event = decode_event(raw if isinstance(raw, bytes) else b"")
    except ValueError as exc:
        out.append(_dead_letter(event, worker, f"undecodable: {exc}", exc))
        return
    key = contact_event.contact_id.encode()
    processor = worker.processor
    before: Entry | None = None
    try:
        pending = changed.get(key)
        stored: Entry | None = pending[1] if pending is not None else None
        partition = message.partition
        if stored is None:
            before = processor.cached(contact_event.contact_id)
            if before is None:
                value = worker.contact_store().get(partition, key)
                stored = None if value is None else decode_value(value)
        before = before or stored
        prior = None if before is None else before.state  # the entry's state is replaced
        kept = None if before is None else before.appeal
        prior_print = kept[1] if kept is not None and kept[0] is prior else None
        entry, emission = processor.apply_event(
            stored, contact_event, partition, message.offset, now_ms(),
            None if judged is None else judged.get(partition, NOT_JUDGED),
        )
    except Exception as exc:  # a bug or a state the core rejects: park it, keep going
        log.exception("cannot process event %s", contact_event.event_id,
                      extra={"tenant": contact_event.tenant,
                             "contact_id": contact_event.contact_id})
        out.append(_dead_letter(event, worker, f"unprocessable: {exc}", exc))
        return
    if entry is not None:
        changed[key] = (event, entry)
    if worker.appeal_events is not None:
        held = entry or before  # the contact after the event (None: it never folded)
        try:
            after = None if held is None else held.state
            fingerprint = appeal_links.route(worker, contact_event,
                                             raw if isinstance(raw, bytes) else b"", prior,
                                             after, out, now_ms(), prior_print)
            if fingerprint is not None and held is not None:
                held.appeal = (held.state, fingerprint)  # for the contact's next event
        except Exception as exc:  # a state the appeal core rejects: park it, keep going
            log.exception("cannot link the appeal of event %s", contact_event.event_id)
            out.append(_dead_letter(event, worker, f"appeal: {exc}", exc))
    emission_records(worker, emission, out)


def stored_value(store: Any, key: bytes) -> bytes | None:
    """The contact's value in the table's store, or None. Not ``table.get``: for a missing
    key (every contact's first event) that goes through faust's ``__missing__`` and a
    KeyError, which cost more than the fold of the event."""
    return store[key] if key in store else None  # noqa: SIM401 (.get is the KeyError path)


def _dead_letter(event: Any, worker: Worker, reason: str, exc: BaseException) -> OutRecord:
    raw = event.value
    if worker.telemetry is not None:
        worker.telemetry.dead_letters += 1
    return OutRecord(worker.dead_letters.get_topic_name(), event.key,
                     raw if isinstance(raw, bytes) else None,
                     headers=dead_letter_headers(reason, exc, event))


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
        if settings.worker_gc_freeze_s:
            gc_policy.freeze_alive()  # the rebuilt contacts: long-lived by definition
        worker.ready = True
        log.info("deadline heap rebuilt: %d open contacts in %.2fs",
                 len(worker.processor.heap), time.monotonic() - started)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def pause_timers(sender: Any, revoked: Any, **_: Any) -> None:
        worker.ready = False
        worker.watermarks.forget()  # positions are sought anew after the rebalance
        if worker.telemetry is not None:
            worker.telemetry.forget_lag()  # the partitions may go to another worker
        worker.sweep = None  # its RocksDB iterator must not outlive the revoked databases
        worker.appeal_sweep = None
        report_rebalance(worker, set())

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def report_assigned(sender: Any, assigned: Any, **_: Any) -> None:
        report_rebalance(worker, assigned)  # the table's recovery follows

    @app.timer(settings.worker_timer_interval_s, name="sla-deadlines")
    async def deadlines_timer() -> None:
        await fire_deadlines(worker)
        report_tick(worker)

    if settings.worker_judge_by_log:
        @app.timer(settings.worker_timer_interval_s, name="log-ends")
        async def log_ends_timer() -> None:
            await sample_log_ends(worker)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def withdraw_readiness(sender: Any, **_: Any) -> None:
        if worker.beacon is not None:
            worker.beacon.close()
        if worker.log_ends is not None:
            await worker.log_ends.close()

    @app.timer(settings.worker_metrics_interval_s, name="live-metrics")
    async def metrics_timer() -> None:
        await publish_metrics(worker)

    if settings.worker_retention_days:
        @app.timer(settings.worker_sweep_interval_s, name="retention-sweep")
        async def retention_timer() -> None:
            await sweep_contacts(worker)

    if settings.worker_gc_freeze_s:
        @app.timer(settings.worker_gc_freeze_s, name="gc-freeze")
        async def gc_freeze_timer() -> None:
            gc_policy.freeze_alive()

        @app.on_before_shutdown.connect  # type: ignore[arg-type]
        async def report_gc(sender: Any, **_: Any) -> None:
            frozen, garbage = gc_policy.unfrozen_garbage()
            found = "not counted (too many to walk at a stop)" if garbage is None else garbage
            log.info("gc policy: %d objects frozen; %s of them were unreachable cyclic garbage",
                     frozen, found)

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
    store = worker.contacts.data
    out: list[OutRecord] = []
    now = now_ms()
    lookup = lambda c: stored_value(store, c.encode())  # noqa: E731
    tally = worker.telemetry
    instants: list[int] | None = None if tally is None else []
    for emission in worker.processor.on_timer(now, lookup, judgement(worker, now), instants):
        emission_records(worker, emission, out)
    table: list[OutRecord] = []
    write_timer_entries(worker, table)
    await commit(worker, table, out)
    if tally is not None and instants:
        tally.timer_fired(now - instant for instant in instants)


def report_tick(worker: Worker) -> None:
    """Tell the readiness beacon (if any) that the deadline timer ticked, and in which phase:
    ready only once the table is recovered and faust has ended the rebalance (sought and
    resumed the partitions), so ready means events are fetched and deadlines fire."""
    if worker.beacon is None or worker.app.should_stop:
        return
    try:
        assignment = worker.app.consumer.assignment()
    except Exception:  # the consumer not started yet
        assignment = set()
    partitions = _events_partitions(worker, assignment)
    rebalancing = bool(worker.app.rebalancing)
    _report(worker, lambda b: b.tick(time.time(), worker.ready, rebalancing, partitions))


def report_rebalance(worker: Worker, assigned: Any) -> None:
    """faust's rebalance signals (revoked: nothing held; assigned: recovery follows). faust
    starts the timers only after the first recovery, so these report the first join."""
    if worker.beacon is None or worker.app.should_stop:
        return
    partitions = _events_partitions(worker, assigned)
    phase = phase_of(worker.ready, True, partitions)
    _report(worker, lambda b: b.observe(time.time(), phase, partitions))


def _events_partitions(worker: Worker, tps: Any) -> int:
    events = worker.events.get_topic_name()
    return sum(1 for tp in tps if tp.topic == events)


def _report(worker: Worker, write: Callable[[Beacon], object]) -> None:
    beacon = worker.beacon
    assert beacon is not None
    try:
        write(beacon)
    except OSError as exc:  # a full disk must not stop the deadlines
        log.warning("cannot write the readiness file %s: %s", beacon.path, exc)


async def sweep_contacts(worker: Worker) -> None:
    """Retention: delete from the table -- the store and, as a tombstone, the changelog, so a
    recovery does not bring them back -- the finished contacts whose last event is older than
    ``worker_retention_days`` (ContactProcessor.retire decides). Each tick looks at the next
    SWEEP_BATCH values of a pass over the table, so the table follows the retention instead of
    growing with the history, and recovery time with it."""
    if not worker.ready or worker.app.should_stop:
        return
    store = worker.contacts.data
    if worker.sweep is None:
        worker.sweep = iter(store.items())
    try:
        batch = list(itertools.islice(worker.sweep, SWEEP_BATCH))
    except RuntimeError:  # the memory store's dict changed under the pass: start another
        worker.sweep = None
        return
    if len(batch) < SWEEP_BATCH:
        worker.sweep = None  # pass done: the next tick starts the next one
    keep_ms = int(worker.settings.worker_retention_days * DAY_MS)
    changelog = worker.contacts.changelog_topic.get_topic_name()
    now = now_ms()
    out: list[OutRecord] = []
    for key, _seen in batch:
        # the value as it is now, not as the pass's snapshot saw it
        partition = worker.processor.retire(key.decode(), stored_value(store, key), now, keep_ms)
        if partition is not None:
            del store[key]
            out.append(OutRecord(changelog, key, None, partition))
    if out:
        log.info("retention: %d finished contacts left the table", len(out))
        await worker.produce(out)


async def publish_metrics(worker: Worker) -> None:
    """Live figures to the metrics topic; new phone contacts to the storm-counts topic."""
    if not worker.ready or worker.app.should_stop:
        return
    if worker.telemetry is not None:
        worker.telemetry.open_clocks(worker.processor.open_clocks)
    out: list[OutRecord] = []
    for record in worker.processor.snapshots(now_ms()):
        key = "|".join(str(record[k] or "") for k in ("tenant", "channel", "region", "office"))
        out.append(OutRecord(worker.metrics.get_topic_name(), key.encode(),
                             encode("MetricsSnapshotTaken", record)))
    for counts in worker.processor.storm.drain():
        out.append(OutRecord(worker.storm_counts.get_topic_name(), counts["region"].encode(),
                             json.dumps(counts).encode()))
    await worker.produce(out)


async def raise_storms(worker: Worker) -> None:
    if worker.app.should_stop:
        return
    await worker.produce([
        OutRecord(worker.alerts.get_topic_name(), alert["region"].encode(),
                  encode(ALERT_STORM, alert))
        for alert in worker.storm.evaluate(now_ms())
    ])


def observe_storm(detector: StormDetector, counts: dict[str, Any]) -> None:
    """One storm-counts message into the detector. A message without a tenant was written by a
    worker from before the per-tenant rule: its calls cannot be given to a tenant, so it is
    skipped (the topic holds minutes, the loss ends with the first window after the upgrade)."""
    tenant = counts.get("tenant")
    if not tenant:
        log.debug("storm counts without a tenant skipped: %s", counts)
        return
    detector.observe(str(tenant), counts["region"], int(counts["minute"]),
                     int(counts["total"]), int(counts["outage"]))
