"""Kafka topics: declared once in deploy/topics.toml, applied idempotently to any cluster.

`apply_topics` creates the declared topics that are missing and reports the ones that exist,
with any difference between what exists and what is declared. It never alters or deletes an
existing topic: changing partitions re-keys data and deserves a deliberate, manual step.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from services.errors import UserError
from services.settings import Settings

CLEANUP_POLICIES = ("delete", "compact", "compact,delete")
_KNOWN_KEYS = {"key", "description", "partitions", "cleanup_policy", "retention_ms"}


@dataclass(frozen=True)
class TopicSpec:
    """One declared topic, with the settings' defaults already filled in."""

    name: str
    """Logical name; the full name on the cluster is settings.topic(name)."""
    key: str
    description: str
    partitions: int
    cleanup_policy: str
    retention_ms: int

    def configs(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


@dataclass(frozen=True)
class TopicOutcome:
    topic: str
    status: Literal["created", "exists"]
    partitions: int
    differences: tuple[str, ...] = ()

    def __str__(self) -> str:
        """One line for a terminal: `kontakt.alerts: created (6 partitions)`."""
        line = f"{self.topic}: {self.status} ({self.partitions} partitions)"
        if self.differences:
            line += "; differs from deploy/topics.toml: " + "; ".join(self.differences)
        return line


def default_topics_file() -> Path:
    return Path(__file__).resolve().parents[1] / "deploy" / "topics.toml"


def load_topics(settings: Settings, path: Path | None = None) -> list[TopicSpec]:
    """Read and validate the declarations; a mistake in the file is a one-line UserError."""
    path = path or default_topics_file()
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read topic declarations {path}: {exc}") from exc
    return [_spec(settings, name, table, path) for name, table in raw.items()]


def _spec(settings: Settings, name: str, table: Any, path: Path) -> TopicSpec:
    where = f"{path} [{name}]"
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table of topic properties")
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise UserError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_KNOWN_KEYS)}")
    partitions = table.get("partitions", settings.topic_partitions)
    retention = table.get("retention_ms", settings.topic_retention_ms)
    policy = table.get("cleanup_policy", "delete")
    if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
        raise UserError(f"{where}: partitions must be a positive integer, not {partitions!r}")
    if not isinstance(retention, int) or isinstance(retention, bool) or retention < -1:
        raise UserError(f"{where}: retention_ms must be an integer >= -1, not {retention!r}")
    if policy not in CLEANUP_POLICIES:
        raise UserError(f"{where}: cleanup_policy must be one of {CLEANUP_POLICIES}")
    return TopicSpec(
        name=name,
        key=str(table.get("key", "")),
        description=str(table.get("description", "")),
        partitions=partitions,
        cleanup_policy=policy,
        retention_ms=retention,
    )


def apply_topics(
    settings: Settings, specs: Sequence[TopicSpec] | None = None, timeout_s: float = 30.0
) -> list[TopicOutcome]:
    """Create the missing topics, report the existing ones (never altering them)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    specs = load_topics(settings) if specs is None else list(specs)
    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap,
            bootstrap_timeout_ms=min(timeout_ms, 10_000),
            request_timeout_ms=timeout_ms,
        )
    except KafkaError as exc:
        raise UserError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} ({type(exc).__name__}): start it "
            "with 'kontakt kafka start' or set KONTAKT_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        outcomes = _apply(admin, settings, specs, timeout_ms)
        _wait_for_group_coordinator(admin, timeout_s)
        return outcomes
    except KafkaError as exc:
        raise UserError(f"applying topics on {settings.kafka_bootstrap} failed: {exc}") from exc
    finally:
        admin.close()


def _wait_for_group_coordinator(admin: Any, timeout_s: float) -> None:
    """Make the broker create its offsets topic now: otherwise every consumer group of a fresh
    cluster (worker, sink, board) first logs 'GroupCoordinatorNotAvailable' errors."""
    import time

    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.describe_groups(["kontakt-setup-probe"])
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _apply(
    admin: Any, settings: Settings, specs: Sequence[TopicSpec], timeout_ms: int
) -> list[TopicOutcome]:
    existing = set(admin.list_topics())
    missing = [spec for spec in specs if settings.topic(spec.name) not in existing]
    if missing:
        request = {
            settings.topic(spec.name): {
                "num_partitions": spec.partitions,
                "replication_factor": settings.topic_replication_factor,
                "configs": spec.configs(),
            }
            for spec in missing
        }
        admin.create_topics(request, timeout_ms=timeout_ms, wait_for_metadata=True)
    present = [spec for spec in specs if spec not in missing]
    actual = _describe(admin, [settings.topic(spec.name) for spec in present])
    outcomes = []
    for spec in specs:
        full = settings.topic(spec.name)
        if spec in missing:
            outcomes.append(TopicOutcome(full, "created", spec.partitions))
            continue
        partitions, configs = actual[full]
        outcomes.append(
            TopicOutcome(full, "exists", partitions, _differences(spec, partitions, configs))
        )
    return outcomes


def _describe(admin: Any, names: list[str]) -> dict[str, tuple[int, dict[str, str]]]:
    """Partition count and the cleanup/retention configs of existing topics."""
    if not names:
        return {}
    from kafka.admin import ConfigResource, ConfigResourceType

    partitions = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, configs=["cleanup.policy", "retention.ms"])
        for name in names
    ]
    described = admin.describe_configs(resources, config_filter="all")["topic"]
    result = {}
    for name in names:
        values = {key: str(entry.get("value")) for key, entry in described[name].items()}
        result[name] = (partitions[name], values)
    return result


def _differences(spec: TopicSpec, partitions: int, configs: dict[str, str]) -> tuple[str, ...]:
    diffs = []
    if partitions != spec.partitions:
        diffs.append(f"partitions {partitions}, declared {spec.partitions}")
    for key, want in spec.configs().items():
        have = configs.get(key)
        if have is not None and have != want:
            diffs.append(f"{key}={have}, declared {want}")
    return tuple(diffs)
