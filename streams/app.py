"""The Faust application, built by a factory from settings (no global app configured at import).

``create_worker(settings)`` returns a :class:`streams.worker.Worker`: the faust App, its topics,
the contacts table and the :class:`~streams.processor.ContactProcessor` the agents call. Tests
build one per test with their own topic prefix, app id and ``store='memory://'``;
``kontakt worker`` builds one with the RocksDB store (rocksdict) under ``data_dir/worker``.

Serialisation: the input topic is read as raw bytes and decoded by the agent with
``schemas.codec.decode_event`` so that an undecodable message can go to the dead-letter topic
with the reason instead of stopping the stream; output topics use the ``kontakt-avro`` faust
codec registered here (a value is a ``(record_name, datum)`` pair, written as single-object Avro
by ``schemas.codec.encode``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.serializers import codecs

from schemas import codec
from schemas.units import MINUTE_MS
from services.settings import Settings
from streams.agents import register_agents
from streams.appeal_agent import register_appeal_agent
from streams.live_metrics import MetricsConfig
from streams.processor import ContactProcessor
from streams.sla.policy import load_policy
from streams.storm import StormConfig, StormDetector
from streams.transport import use_read_committed
from streams.worker import Worker

AVRO_CODEC = "kontakt-avro"
CONTACTS_TABLE = "contacts"
STORM_TOPIC = "storm-counts"
OUTCOMES_TOPIC = "outcomes"
DEAD_LETTER_TOPIC = "dead-letters"
APPEAL_EVENTS_TOPIC = "appeal-events"
APPEALS_TOPIC = "appeals"
APPEALS_TABLE = "appeal-contacts"


class AvroCodec(codecs.Codec):
    """faust codec: ``(record_name, datum)`` <-> single-object Avro (schemas.codec)."""

    def _dumps(self, obj: Any) -> bytes:
        name, datum = obj
        return codec.encode(name, datum)

    def _loads(self, s: bytes) -> Any:
        return codec.decode(s)


def register_codec() -> None:
    """Make ``kontakt-avro`` known to faust (idempotent)."""
    codecs.register(AVRO_CODEC, AvroCodec())


def broker_url(bootstrap: str) -> str:
    """``host1:9092,host2:9092`` -> faust's ``kafka://host1:9092;kafka://host2:9092``."""
    hosts = [h.strip() for h in bootstrap.split(",") if h.strip()]
    return ";".join(f"kafka://{h}" for h in hosts)


def storm_config(settings: Settings) -> StormConfig:
    scopes = tuple(s.strip() for s in settings.storm_scopes.split(",") if s.strip())
    return StormConfig(
        window_ms=settings.storm_window_min * MINUTE_MS,
        factor=settings.storm_factor,
        min_count=settings.storm_min_count,
        default_hourly=settings.storm_default_hourly,
        scopes=scopes,
    )


def app_options(settings: Settings, *, store: str, datadir: Path) -> dict[str, Any]:
    """The faust App options of the worker (also used by bench/worker.py's bare agent, so its
    framework baseline runs with the same consumer, producer and commit settings)."""
    return dict(
        broker=broker_url(settings.kafka_bootstrap),
        store=store,
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        autodiscover=False,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        # with one replica acks=all waits for nothing more than acks=1, but runs slower
        producer_acks=1 if settings.topic_replication_factor == 1 else -1,
        stream_recovery_delay=0.0,
        table_standby_replicas=0,
        # aiokafka keeps one open batch per partition and makes send() wait while it drains:
        # faust's 16 KB default caps each output partition at ~40 records per round trip.
        producer_linger=0.01,
        producer_max_batch_size=512 * 1024,
        # a crashed worker's partitions (and breaches) wait this long for another worker;
        # faust's default is 60 s (heartbeats every 3 s, from the consumer thread)
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_commit_every=2_000,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=8192,
    )


def create_worker(settings: Settings, *, store: str | None = None) -> Worker:
    """Build the faust App, topics and table from ``settings``; agents are added by
    :func:`streams.agents.register_agents` (called here)."""
    register_codec()
    datadir = Path(settings.data_dir) / "worker" / settings.worker_app_id
    store = store or settings.worker_store
    if not store.startswith("memory"):
        datadir.mkdir(parents=True, exist_ok=True)  # faust makes only the last level
    app = faust.App(settings.worker_app_id,
                    **app_options(settings, store=store, datadir=datadir.absolute()))
    use_read_committed(app, settings.worker_fetch_max_wait_ms)
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                           "key_serializer": "raw", "value_serializer": "raw"}
    avro: dict[str, Any] = {"key_serializer": "raw", "value_serializer": AVRO_CODEC}
    topic = settings.topic
    worker = Worker(
        settings=settings,
        app=app,
        events=app.topic(topic(settings.events_topic), **raw),
        alerts=app.topic(topic("alerts"), **avro),
        outcomes=app.topic(topic(OUTCOMES_TOPIC), **avro),
        metrics=app.topic(topic("metrics"), **avro),
        dead_letters=app.topic(topic(DEAD_LETTER_TOPIC), **raw),
        storm_counts=app.topic(topic(STORM_TOPIC), key_serializer="raw",
                               value_serializer="json", partitions=1, internal=True),
        contacts=app.Table(  # key_type/value_type bytes is what makes the store raw
            CONTACTS_TABLE, partitions=settings.topic_partitions, key_type=bytes,
            value_type=bytes, schema=faust.Schema(**raw),
        ),
        processor=ContactProcessor(
            load_policy(settings.sla_policy),
            MetricsConfig(short_abandon_ms=settings.worker_short_abandon_ms),
            cache_size=settings.worker_cache_contacts,
            lateness=settings.lateness_ms(),
        ),
        storm=StormDetector(storm_config(settings)),
    )
    if settings.worker_appeals:
        worker.appeal_events = app.topic(topic(APPEAL_EVENTS_TOPIC), **raw)
        worker.appeals = app.topic(topic(APPEALS_TOPIC), **avro)
        worker.appeal_table = app.Table(
            APPEALS_TABLE, partitions=settings.topic_partitions, key_type=bytes,
            value_type=bytes, schema=faust.Schema(**raw),
        )
    register_agents(worker)
    register_appeal_agent(worker)
    return worker
