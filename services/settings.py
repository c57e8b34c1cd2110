"""One frozen settings object per process, built by :func:`load_settings` (never at import).

Every field can be set from the environment as ``KONTAKT_<FIELD NAME IN CAPITALS>``; the
defaults run the whole platform embedded on one machine with no configuration at all.
The README's "Configuration" table is ``kontakt config --markdown`` (settings_table in
services/cli/platform.py) pasted verbatim; tests/unit/test_readme.py keeps the two equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KONTAKT_", frozen=True, extra="ignore")

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        default=Path(".kontakt"),
        description="Local state: broker data, embedded warehouse, logs, pid files.",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "kontakt",
        description="Downloaded Kafka jars (outside the repository).",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines of every process (api, worker, sink, notifier; `kontakt up`'s "
        "children inherit it): text, or json (one object per line: timestamp, level, logger, "
        "message, request_id/tenant/contact_id/alert_id where in play).",
    )

    # --- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap: str = Field(
        default="",
        description="Bootstrap servers of the Kafka cluster. Empty: the local broker, "
        "127.0.0.1:KONTAKT_KAFKA_PORT.",
    )
    kafka_port: int = Field(default=9092, description="Port of the local broker (kontakt up).")
    kafka_controller_port: int = Field(
        default=9093, description="KRaft controller port of the local broker."
    )
    kafka_heap: str = Field(default="512m", description="-Xmx of the local broker JVM.")
    kafka_jvm_opts: str = Field(
        default="-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
        description="Extra JVM options of the local broker. The default favours a fast, "
        "light start on a small machine (serial GC, C1 JIT only) over peak throughput; "
        "set it empty for the JVM's defaults.",
    )
    topic_prefix: str = Field(default="kontakt.", description="Prefix of every Kafka topic name.")
    topic_partitions: int = Field(default=6, description="Partitions of keyed topics.")
    topic_replication_factor: int = Field(default=1, description="Replication factor of topics.")
    topic_retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000, description="Retention of delete-policy topics (ms)."
    )

    # --- ClickHouse ----------------------------------------------------------------------
    clickhouse_url: str = Field(
        default="",
        description="Empty: embedded chdb under data_dir/warehouse. chdb:///path for another "
        "directory, clickhouse://user:password@host:9000/database for a server.",
    )
    clickhouse_cluster: str = Field(
        default="",
        description="Name of a ClickHouse cluster (remote_servers) for `kontakt migrate`: "
        "the same migrations rendered ON CLUSTER, ReplicatedMergeTree <table>_local and "
        "Distributed <table> (docs/clickhouse.md). Empty: one server or chdb, as written.",
    )
    raw_event_ttl_days: int = Field(
        default=0,
        ge=0,
        description="Days raw contact events are kept in the warehouse's events table "
        "(applied by `kontakt migrate` as a TTL); 0 keeps them forever.",
    )

    # --- API -----------------------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, description="Port the API listens on.")

    # --- ingest --------------------------------------------------------------------------
    events_topic: str = Field(
        default="contact-events",
        description="Logical topic of contact events (ContactEventRecorded, key contact_id).",
    )
    ingest_max_body_bytes: int = Field(
        default=32 * 1024 * 1024, description="Largest accepted ingest request body (bytes)."
    )
    ingest_max_event_bytes: int = Field(
        default=1_000_000,
        description="Largest accepted event, Avro-encoded (bytes); Kafka's producers and broker "
        "refuse records over 1 MiB by default.",
    )
    ingest_max_batch_events: int = Field(
        default=50_000, description="Most events accepted in one batch request."
    )
    ingest_max_future_skew_s: int = Field(
        default=300, description="How far in the future occurred_at may lie (clock skew, s)."
    )
    ingest_idempotency_window_s: int = Field(
        default=24 * 3600,
        description="A retried event_id within this window is accepted but not produced again.",
    )
    ingest_idempotency_max_entries: int = Field(
        default=2_000_000, description="Most event_ids remembered by the idempotency window."
    )
    ingest_publish_timeout_s: float = Field(
        default=10.0, description="Longest wait for Kafka to acknowledge a request's events (s)."
    )
    ingest_retry_after_s: int = Field(
        default=5, description="Retry-After (s) sent with 503 when Kafka is unavailable or slow."
    )
    ingest_transactions: bool = Field(
        default=True,
        description="Produce each ingest request as one Kafka transaction (read_committed "
        "consumers never see a failed request's records); false: plain idempotent producer.",
    )
    ingest_transactional_id: str = Field(
        default="kontakt-ingest",
        description="Prefix of the ingest producers' transactional ids; each API process adds "
        "a digest of host + data_dir and a slot it holds a lock on (data_dir/ingest-slots).",
    )
    ingest_producers: int = Field(
        default=1,
        ge=1,
        description="Transactional producers per API process (their transactions run in "
        "parallel; one producer's are sequential).",
    )
    pseudonym_key: str = Field(
        default="",
        description="HMAC key for customer pseudonyms (152-FZ). Empty: a random key is created "
        "once in data_dir/pseudonym.key and reused.",
    )

    # --- sink and analytics --------------------------------------------------------------
    sink_topics: str = Field(
        default="contact-events,outcomes,alerts,metrics,acknowledgements,appeals,policies",
        description="Logical topics `kontakt sink` copies into ClickHouse (comma-separated).",
    )
    sink_group: str = Field(default="kontakt-sink", description="Consumer group of the sink.")
    sink_batch_rows: int = Field(
        default=50_000, ge=1, description="The sink inserts once a batch holds this many rows."
    )
    sink_batch_seconds: float = Field(
        default=1.0, gt=0, description="...or once its first record is this old (s)."
    )
    sink_contacts: bool = Field(
        default=True,
        description="The sink re-folds the contacts its batches touched into the `contacts` "
        "table (docs/history.md); false: only `kontakt backfill` writes it.",
    )
    sink_contacts_seconds: float = Field(
        default=2.0, gt=0, description="How often the sink's contacts projector runs (s)."
    )
    sink_contacts_recover_hours: float = Field(
        default=6.0, gt=0,
        description="On start the projector refolds stale contacts with events ingested this "
        "long before the newest stored event (covers its lag at a crash).",
    )
    sink_in_api: bool = Field(
        default=True,
        description="With an embedded chdb warehouse, `kontakt api` also runs the sink in a "
        "background thread (chdb allows one process per warehouse directory).",
    )
    query_max_days: int = Field(
        default=400, ge=1, description="Longest time range one analytics query may cover (days)."
    )
    query_max_rows: int = Field(
        default=10_000, ge=1, description="Most rows one analytics API response returns."
    )
    query_max_execution_s: int = Field(
        default=10, ge=1, description="ClickHouse max_execution_time of analytics queries (s)."
    )
    sql_max_execution_s: float = Field(
        default=30.0, gt=0,
        description="POST /v1/sql and `kontakt sql`: ClickHouse max_execution_time of an "
        "analyst's query (s); a request may lower it, never raise it.",
    )
    sql_max_result_rows: int = Field(
        default=100_000, ge=1,
        description="POST /v1/sql: max_result_rows of an analyst's query; a larger result is "
        "refused (result_overflow_mode=throw), a request may lower it.",
    )
    sql_max_memory_bytes: int = Field(
        default=1 << 30, ge=1 << 20,
        description="POST /v1/sql: ClickHouse max_memory_usage of an analyst's query (bytes); "
        "a request may lower it.",
    )
    appeal_window_days: int = Field(
        default=7, ge=0, le=365,
        description="Contacts of one customer and topic within this many days of the previous "
        "one's last event are one appeal (a repeat after a resolution counts against it).",
    )
    whatif_max_days: int = Field(
        default=92, ge=1, description="Longest period a what-if re-evaluation may cover (days)."
    )
    whatif_max_contacts: int = Field(
        default=200_000, ge=1, description="Most contacts one what-if API request re-evaluates."
    )

    # --- stream worker (kontakt worker; docs/streams.md) ----------------------------------
    sla_policy: str = Field(
        default="rao-ues-2007",
        description="SLA policy the worker evaluates: a preset name or a TOML file path.",
    )
    policy_min_lead_s: int = Field(
        default=60, ge=0,
        description="Admin API and `kontakt policy publish`: a tenant's policy version takes "
        "effect at least this long after it is published, so the live worker has read it "
        "before the first contact it governs arrives (the stream and replay agree); a version "
        "without effective_from takes effect this long after publishing (s; docs/policies.md).",
    )
    worker_app_id: str = Field(
        default="kontakt-worker",
        description="Faust app id: consumer group, table changelog prefix, state directory.",
    )
    worker_store: str = Field(
        default="rocksdb://",
        description="Faust table store: rocksdb:// (rocksdict, under data_dir/worker) or memory://.",
    )
    worker_timer_interval_s: float = Field(
        default=0.1, gt=0, description="How often the worker checks for passed SLA deadlines (s)."
    )
    worker_event_loop: Literal["asyncio", "uvloop"] = Field(
        default="asyncio",
        description="Worker: the event loop faust runs on -- Python's asyncio, or uvloop "
        "(faust's `--loop uvloop`): the bare faust agent runs ~1.15x as fast on it, the worker "
        "no faster while its own code dominates (bench/faust_levers.py, docs/performance.md).",
    )
    worker_judge_by_log: bool = Field(
        default=True,
        description="Worker: judge warnings and breaches at each partition's read watermark "
        "(the instant up to which its log is read), not at the wall clock alone, so an event "
        "already in Kafka stops its clock before the breach is judged (docs/streams.md).",
    )
    allowed_lateness: str = Field(
        default="",
        description="Worker: sources that deliver late by design, judged that much later, as "
        "tenant/channel=seconds, comma-separated ('*' for every tenant), e.g. "
        "`grid-east/phone=90,*/email=600`.",
    )
    worker_metrics_interval_s: float = Field(
        default=5.0, gt=0, description="Cadence of live-metrics snapshots and the storm rule (s)."
    )
    worker_processes: int = Field(
        default=1, ge=1, le=64,
        description="Worker processes `kontakt up` starts: one consumer group, the partitions "
        "of the events topic shared between them (more than topic_partitions idle).",
    )
    worker_session_timeout_s: float = Field(
        default=10.0, ge=6, le=300,
        description="Worker: how long the group waits for a silent (crashed) worker before its "
        "partitions -- and their deadline timers -- move to another (s).",
    )
    worker_retention_days: float = Field(
        default=35.0, ge=0,
        description="Worker: a contact with no clock before its deadline (all met, cancelled "
        "or breached) and no event for this long leaves the worker's table (ClickHouse keeps "
        "it; a later event starts a fresh contact). 0 keeps every contact.",
    )
    worker_sweep_interval_s: float = Field(
        default=60.0, gt=0,
        description="Worker: how often it looks at the next slice of its table for contacts "
        "past the retention (s).",
    )
    worker_fetch_max_wait_ms: int = Field(
        default=100, ge=0, le=1_500,
        description="Worker: the longest the broker may hold a fetch of partitions with no new "
        "records (ms; faust passes 1500). While that fetch is out no other partition on the "
        "broker is fetched, so events behind it wait as long (docs/streams.md \"Fetch wait\").",
    )
    worker_cache_contacts: int = Field(
        default=20_000, ge=0,
        description="Worker: decoded contacts kept in memory, most recently used first (the "
        "rest are read from the table's store when their next event or deadline comes; "
        "docs/streams.md \"Memory\").",
    )
    worker_gc_freeze_s: float = Field(
        default=10.0, ge=0,
        description="Worker: every this many seconds, move the objects alive into gc.freeze()'s "
        "permanent generation, so a full collection never walks all open contacts (0 = "
        "Python's default GC; docs/streams.md).",
    )
    worker_gc_young: int = Field(
        default=100_000, ge=0,
        description="Worker: gc.set_threshold's first threshold, the tracked objects "
        "allocated, net, between two young collections (every 10th young one is a middle "
        "one, every 10th middle one a full one). Python's 700 cost the worker ~15% of its "
        "CPU per event (0 = Python's; docs/streams.md \"Garbage collection\").",
    )
    worker_appeals: bool = Field(
        default=True,
        description="Worker: link appeals live -- re-key contact events by customer through "
        "the internal appeal-events topic and emit AppealUpdated to the appeals topic "
        "(docs/appeals.md). Off: appeal figures come only from `kontakt appeals link`.",
    )
    worker_appeal_keep_days: float = Field(
        default=35.0, gt=0,
        description="Worker: an appeal whose last event is this many days older than its "
        "customer's newest leaves the worker's appeal table (beyond the appeal window).",
    )
    worker_short_abandon_ms: int = Field(
        default=5_000, ge=0, description="Abandons within this wait are short (not counted, ms)."
    )
    storm_scopes: str = Field(
        default="outage",
        description="Outage-storm rule counts phone contacts of kind outage, all, or both "
        "(comma-separated).",
    )
    storm_window_min: int = Field(
        default=10, ge=1, description="Outage-storm rule: counting window (minutes)."
    )
    storm_factor: float = Field(
        default=3.0, gt=0, description="Outage-storm rule: multiple of the usual level that alerts."
    )
    storm_min_count: int = Field(
        default=20, ge=1, description="Outage-storm rule: fewest contacts in a window that alert."
    )
    storm_default_hourly: float = Field(
        default=30.0,
        ge=0,
        description="Outage-storm rule: usual phone contacts per hour of a region until learnt.",
    )

    # --- live board, acknowledgements, notifications (docs/board.md) -----------------------
    board_feed: bool = Field(
        default=True, description="The API follows the alerts/metrics topics for /board."
    )
    board_history_s: int = Field(
        default=3600, ge=0, description="How far back the board reads on start-up (s)."
    )
    staffing_threshold_s: float = Field(
        default=40.0, gt=0, description="Staffing advice: answer-time threshold (s)."
    )
    staffing_target: float = Field(
        default=0.8, gt=0, lt=1, description="Staffing advice: target service level (0-1)."
    )
    staffing_default_handle_s: float = Field(
        default=180.0, gt=0, description="Staffing advice: handle time when the hour has none (s)."
    )
    staffing_max_abandon: float = Field(
        default=0.05, gt=0, lt=1,
        description="Staffing plan: highest abandon rate Erlang A may plan for (0-1).",
    )
    staffing_shrinkage: str = Field(
        default="0.3",
        description="Staffing plan: share of paid time off the phones (breaks, training), "
        "0-<1; a default, then tenant=share pairs, e.g. 0.3,mrsk-center=0.35.",
    )
    notify_rules: Path | None = Field(
        default=None,
        description="TOML file of notification rules for `kontakt notifier` (none: no rules).",
    )
    notify_group: str = Field(
        default="kontakt-notifier", description="Consumer group of the notifier."
    )

    # --- Prometheus metrics (the API serves its own at GET /metrics) ----------------------
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the /metrics servers of the worker, `kontakt sink` and the "
        "notifier listen on (the API's /metrics is on the API's own address).",
    )
    worker_metrics_port: int = Field(
        default=9101, ge=0, le=65535,
        description="Worker: port of its Prometheus /metrics on KONTAKT_METRICS_HOST; 0 turns "
        "the worker's metrics off. `kontakt up` gives worker N (1, 2, ...) this port + N - 1.",
    )
    sink_metrics_port: int = Field(
        default=9102, ge=0, le=65535,
        description="`kontakt sink` (its own process): port of its Prometheus /metrics on "
        "KONTAKT_METRICS_HOST; 0: off. The sink inside the API is on the API's /metrics.",
    )
    notifier_metrics_port: int = Field(
        default=9103, ge=0, le=65535,
        description="`kontakt notifier`: port of its Prometheus /metrics on "
        "KONTAKT_METRICS_HOST; 0: off.",
    )

    @field_validator("clickhouse_cluster")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        from services.adapters.cluster_sql import check_cluster_name

        return check_cluster_name(value) if value else value

    @field_validator("allowed_lateness")
    @classmethod
    def _lateness_parses(cls, value: str) -> str:
        parse_lateness(value)
        return value

    def lateness_ms(self) -> dict[tuple[str, str], int]:
        """allowed_lateness as (tenant, channel) -> milliseconds."""
        return parse_lateness(self.allowed_lateness)

    @field_validator("staffing_shrinkage")
    @classmethod
    def _shrinkage(cls, value: str) -> str:
        parse_shrinkage(value)
        return value

    def shrinkage_for(self, tenant: str) -> float:
        """The staffing plan's shrinkage of ``tenant`` (its own, else the default)."""
        default, per_tenant = parse_shrinkage(self.staffing_shrinkage)
        return per_tenant.get(tenant, default)

    @model_validator(mode="before")
    @classmethod
    def _local_bootstrap(cls, data: Any) -> Any:
        """Without an explicit cluster, clients talk to the local broker on its own port, so
        changing KONTAKT_KAFKA_PORT alone moves both together."""
        if isinstance(data, dict) and not data.get("kafka_bootstrap"):
            port = data.get("kafka_port") or cls.model_fields["kafka_port"].default
            data = {**data, "kafka_bootstrap": f"127.0.0.1:{port}"}
        return data

    @property
    def warehouse_url(self) -> str:
        """The ClickHouse URL actually used: the embedded directory when none is set."""
        return self.clickhouse_url or f"chdb://{(self.data_dir / 'warehouse').resolve()}"

    def topic(self, name: str) -> str:
        """Full topic name for a logical topic name declared in deploy/topics.toml."""
        return f"{self.topic_prefix}{name}"


def parse_shrinkage(text: str) -> tuple[float, dict[str, float]]:
    """``"0.3,mrsk-center=0.35"`` -> (0.3, {"mrsk-center": 0.35}); ValueError when malformed."""
    default, per_tenant = 0.0, {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, share = part.rpartition("=")
        try:
            value = float(share)
        except ValueError:
            raise ValueError(
                f"staffing_shrinkage: {part!r} is not a share or tenant=share") from None
        if not 0.0 <= value < 1.0:
            raise ValueError(f"staffing_shrinkage: {part!r}: a share is 0 or more, below 1")
        if name:
            per_tenant[name.strip()] = value
        else:
            default = value
    return default, per_tenant


def load_settings(**overrides: object) -> Settings:
    """Build the process's settings from the environment; keyword overrides win (tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]


def parse_lateness(text: str) -> dict[tuple[str, str], int]:
    """``tenant/channel=seconds, ...`` -> {(tenant, channel): ms}; ValueError naming the item
    that does not parse."""
    from schemas.events import Channel
    from schemas.units import DAY_MS, SECOND_MS

    out: dict[tuple[str, str], int] = {}
    channels = {c.value for c in Channel}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        where, eq, amount = item.partition("=")
        tenant, slash, channel = where.strip().partition("/")
        tenant, channel = tenant.strip(), channel.strip()
        try:
            seconds = float(amount)
        except ValueError:
            seconds = -1.0
        ok = eq and slash and tenant and channel in channels
        if not (ok and 0 <= seconds * SECOND_MS <= DAY_MS):
            raise ValueError(
                f"allowed lateness {item!r}: write tenant/channel=seconds (channel one of "
                f"{', '.join(sorted(channels))}; 0 to 86400 s; '*' as tenant for all)")
        out[(tenant, channel)] = round(seconds * SECOND_MS)
    return out
