"""One frozen settings object per process, built by :func:`load_settings` (never at import).

Every field can be set from the environment as ``KONTAKT_<FIELD NAME IN CAPITALS>``; the
defaults run the whole platform embedded on one machine with no configuration at all.
The README's "Configuration" table lists them; tests/unit/test_settings_docs.py keeps the two
in step.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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

    # --- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Bootstrap servers of the Kafka cluster."
    )
    kafka_port: int = Field(default=9092, description="Port of the local broker (kontakt up).")
    kafka_controller_port: int = Field(
        default=9093, description="KRaft controller port of the local broker."
    )
    kafka_heap: str = Field(default="512m", description="-Xmx of the local broker JVM.")
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
    raw_event_ttl_days: int = Field(
        default=0,
        ge=0,
        description="Days raw contact events are kept in the warehouse's events table "
        "(applied by `kontakt migrate` as a TTL); 0 keeps them forever.",
    )

    # --- API -----------------------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, description="Port the API listens on.")

    @property
    def warehouse_url(self) -> str:
        """The ClickHouse URL actually used: the embedded directory when none is set."""
        return self.clickhouse_url or f"chdb://{(self.data_dir / 'warehouse').resolve()}"

    def topic(self, name: str) -> str:
        """Full topic name for a logical topic name declared in deploy/topics.toml."""
        return f"{self.topic_prefix}{name}"


def load_settings(**overrides: object) -> Settings:
    """Build the process's settings from the environment; keyword overrides win (tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
