"""The worker's view of the tenants' policy versions: read whole at start, then followed live.

The ``policies`` topic is compacted and keyed by tenant, and each PolicyVersionPublished record
carries the tenant's whole history (deploy/topics.toml), so the last record per tenant is all a
reader needs. The worker reads the topic to its end before faust starts (``load_rules``: no
contact is judged before the versions that govern it are known), then follows it with a
consumer of its own, outside the worker's consumer group (``follow``): every worker needs every
tenant's versions, whichever partitions of the contact events it holds, and a restart reads
the topic again from the beginning instead of from a committed offset.

A new version reaches the processor within about a second of its publication (the follower's
poll). The API only accepts versions that take effect at least ``KONTAKT_POLICY_MIN_LEAD_S``
after they are published, so the live worker has the version before the first contact it
governs, and judges every contact as replay does. A version read after its effective instant
(the lead was shorter than the worker's lag) is logged as a warning: contacts that started in
between were judged by the previous version until their next event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from schemas import codec
from streams.sla.policy import Policy, PolicyError
from streams.sla.versions import (
    POLICY_RECORD,
    PolicyVersion,
    Rules,
    book_of,
    versions_of_record,
)

if TYPE_CHECKING:
    from services.settings import Settings
    from streams.worker import Worker

log = logging.getLogger(__name__)


def attach(worker: Worker, settings: Settings) -> None:
    """Read the versions now, then follow them while the worker runs (a faust task)."""
    from streams.worker import now_ms

    topic = settings.topic("policies")
    processor = worker.processor
    processor.rules = load_rules(processor.rules.fallback, settings.kafka_bootstrap, topic)

    def put(rules: Rules) -> None:
        processor.rules = rules

    @worker.app.task
    async def _follow_policies() -> None:
        await follow(settings.kafka_bootstrap, topic, lambda: processor.rules, put, now_ms)


def versions_of(values: Iterable[bytes | None]) -> list[PolicyVersion]:
    """PolicyVersionPublished record values (in topic order) -> every version they carry.
    A record that cannot be read is logged and skipped, never fatal: the tenant keeps the
    versions of its previous record."""
    found: dict[str, list[PolicyVersion]] = {}
    for value in values:
        if value is None:  # a tombstone: nothing publishes one; the tenant keeps its versions
            continue
        try:
            name, datum = codec.decode(value)
            if name != POLICY_RECORD:
                raise codec.DecodeError(f"a {name} record, not {POLICY_RECORD}")
            found[datum["tenant"]] = versions_of_record(datum)  # the whole history: replaces
        except (codec.DecodeError, PolicyError, KeyError, ValueError) as exc:
            log.warning("policies: a record cannot be read, skipped: %s", exc)
    return [v for history in found.values() for v in history]


def merged(rules: Rules, versions: Iterable[PolicyVersion]) -> Rules:
    """``rules`` with each tenant in ``versions`` replaced by the history read now."""
    new = book_of(versions)
    return Rules(rules.fallback, {**rules.book, **new})


def load_rules(fallback: Policy, bootstrap: str, topic: str, timeout_s: float = 30.0) -> Rules:
    """Every tenant's versions on ``topic`` now (read to its end offsets) over ``fallback``."""
    from services.adapters.kafka_reader import read_all

    records = read_all(bootstrap, topic, timeout_s=timeout_s)
    rules = Rules(fallback, book_of(versions_of(r.value for r in records)))
    log.info("policies: %d tenants with their own versions (%s), default %s",
             len(rules.book), ", ".join(f"{t} v{vs[-1].version}" for t, vs in
                                        sorted(rules.book.items())) or "none", fallback.name)
    return rules


def late_versions(before: Rules, after: Rules, now: int) -> list[PolicyVersion]:
    """Versions new in ``after`` whose effective instant has already passed at ``now``."""
    known = {(t, v.version) for t, vs in before.book.items() for v in vs}
    return [v for vs in after.book.values() for v in vs
            if (v.tenant, v.version) not in known and v.effective_from < now]


async def follow(
    bootstrap: str, topic: str, get: Callable[[], Rules], put: Callable[[Rules], None],
    now_ms: Callable[[], int], consumer_options: Mapping[str, Any] | None = None,
) -> None:
    """Follow ``topic`` for ever, putting each tenant's newest history into the rules."""
    import aiokafka

    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", isolation_level="read_committed",
        **dict(consumer_options or {}))
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster metadata, so the partitions are known
        partitions = consumer.partitions_for_topic(topic) or {0}
        consumer.assign([aiokafka.TopicPartition(topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            values = [r.value for records in batches.values() for r in records]
            if not values:
                continue
            before, read = get(), versions_of(values)
            after = merged(before, read)
            put(after)
            for v in late_versions(before, after, now_ms()):
                log.warning("policies: %s version %d read after it took effect (%d ms late): "
                            "contacts that started in between were judged by the previous "
                            "version until their next event", v.tenant, v.version,
                            now_ms() - v.effective_from)
            for tenant, vs in sorted(book_of(read).items()):
                log.info("policies: %s now has versions 1..%d", tenant, vs[-1].version)
    except asyncio.CancelledError:
        raise
    finally:
        await consumer.stop()
