"""Numbered, forward-only ClickHouse migrations (schemas/clickhouse/NNN_name.sql).

Each applied file is recorded in ``kontakt_schema_migrations`` with its version, name, sha256
checksum and applied_at. A later run applies only the newer files, in order. It refuses to
run -- naming the file -- when an applied migration was edited (checksum differs), deleted,
or renumbered/renamed, because the warehouse would no longer match the repository.

Statements in a file are split on top-level ``;`` (quotes and comments respected) and run one
by one; a failure stops the run and leaves the failed file unrecorded, so fix it and re-run.
Migrations should therefore be written idempotently (IF NOT EXISTS), which they all are.

Settings applied at migrate time (not in the files, so changing them is not "editing a
migration"): see :func:`apply_settings` -- the raw-event TTL (KONTAKT_RAW_EVENT_TTL_DAYS, by
``ALTER TABLE events MODIFY TTL``) and the region -> time-zone default (from
streams/sla/regions.py), both re-applied by every ``kontakt migrate`` run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.adapters.cluster_sql import local_name, render, render_statement
from services.adapters.sqltext import split_statements
from services.errors import UserError
from services.ports import Warehouse
from services.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "schemas" / "clickhouse"
TABLE = "kontakt_schema_migrations"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime
) ENGINE = MergeTree ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split_statements(self.sql)

    def statements_for(self, cluster: str = "") -> list[str]:
        """The statements a cluster runs (services/adapters/cluster_sql.py); without one,
        :attr:`statements`: the file's own text, as chdb and a single server run it."""
        return split_statements(render(self.sql, cluster)) if cluster else self.statements


@dataclass(frozen=True)
class Applied:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a badly named .sql file or a duplicate number
    is an error (it would be silently skipped or applied in an unclear order)."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise UserError(f"migration file {path.name} is not named NNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise UserError(
                f"migrations {found[version].path.name} and {path.name} share number {version:03d}"
            )
        found[version] = Migration(version, path.stem, path, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def applied(warehouse: Warehouse) -> list[Applied]:
    warehouse.execute(_CREATE_TABLE)
    rows = warehouse.query(
        f"SELECT version, name, checksum, applied_at FROM {TABLE} ORDER BY version"
    )
    return [Applied(int(v), str(n), str(c), a) for v, n, c, a in rows]


def check(migrations: list[Migration], done: list[Applied]) -> list[Migration]:
    """The migrations still to apply; UserError if the applied history does not match."""
    by_version = {m.version: m for m in migrations}
    for record in done:
        current = by_version.get(record.version)
        if current is None:
            raise UserError(
                f"applied migration {record.name}.sql (version {record.version:03d}) is missing "
                f"from {MIGRATIONS_DIR.name}/; migrations are forward-only: restore the file"
            )
        if current.name != record.name:
            raise UserError(
                f"migration {current.path.name} has version {record.version:03d}, which was "
                f"applied as {record.name}.sql; do not renumber or rename applied migrations"
            )
        if current.checksum != record.checksum:
            raise UserError(
                f"applied migration {current.path.name} was edited (checksum differs); revert "
                "it and put the change in a new numbered migration"
            )
    last = max((r.version for r in done), default=0)
    pending = [m for m in migrations if m.version not in {r.version for r in done}]
    late = [m for m in pending if m.version < last]
    if late:
        raise UserError(
            f"migration {late[0].path.name} is numbered below the last applied version "
            f"{last:03d}; give it a number after {last:03d}"
        )
    return pending


def migrate(
    warehouse: Warehouse,
    directory: Path = MIGRATIONS_DIR,
    dry_run: bool = False,
    raw_event_ttl_days: int = 0,
    cluster: str = "",
) -> list[Migration]:
    """Apply every pending migration in order and record it; returns what was (or would be)
    applied. Then apply the migrate-time settings (unless dry_run). With ``cluster`` the
    statements are rendered ON CLUSTER, replicated and distributed; the checksum stays the
    file's (one migration set for every deployment)."""
    pending = check(discover(directory), applied(warehouse))
    if dry_run:
        return pending
    for migration in pending:
        for statement in migration.statements_for(cluster):
            try:
                warehouse.execute(statement)
            except Exception as exc:
                reason = _one_line(str(exc)) or repr(exc)
                raise UserError(f"migration {migration.path.name} failed: {reason}") from exc
        warehouse.insert(
            TABLE,
            ["version", "name", "checksum", "applied_at"],
            [(migration.version, migration.name, migration.checksum, _now())],
        )
    apply_settings(warehouse, raw_event_ttl_days=raw_event_ttl_days, cluster=cluster)
    return pending


def apply_migrations(warehouse: Warehouse, settings: Settings) -> list[str]:
    """``kontakt migrate`` / ``kontakt setup``: apply and describe in one line per change."""
    cluster = settings.clickhouse_cluster
    if cluster and settings.warehouse_url.startswith("chdb:"):
        raise UserError("KONTAKT_CLICKHOUSE_CLUSTER needs a ClickHouse server: set "
                        "KONTAKT_CLICKHOUSE_URL=clickhouse://... (embedded chdb has no cluster)")
    done = migrate(warehouse, raw_event_ttl_days=settings.raw_event_ttl_days, cluster=cluster)
    lines = [f"applied {m.path.name}" for m in done] or ["schema up to date"]
    ttl = settings.raw_event_ttl_days
    lines.append(f"raw events kept {ttl} days" if ttl else "raw events kept forever")
    return lines


def apply_settings(warehouse: Warehouse, *, raw_event_ttl_days: int, cluster: str = "") -> None:
    """Deployment-specific table properties, re-applied on every run (idempotent).

    * ``raw_event_ttl_days`` > 0 sets ``TTL occurred_at + INTERVAL n DAY DELETE`` on
      ``events``; 0 removes it. Only ALTERed when it changes (a TTL change rewrites parts).
    * the region -> time-zone DEFAULT of ``events.timezone`` and ``outcomes.timezone`` is
      regenerated from streams.sla.regions.REGION_TIMEZONES (the one place that mapping
      lives; a metadata-only ALTER), so a region added there needs no new migration.

    On a cluster each ALTER is rendered like a migration's (the TTL on ``events_local``, the
    column DEFAULT on both tables).
    """

    def execute(sql: str) -> None:
        for statement in render_statement(sql, cluster) if cluster else [sql]:
            warehouse.execute(statement)

    for table in ("events", "outcomes"):
        if _table_exists(warehouse, table):
            execute(
                f"ALTER TABLE {table} MODIFY COLUMN timezone LowCardinality(String) "
                f"DEFAULT {region_timezone_sql('region')}"
            )
    if not _table_exists(warehouse, "events"):
        return
    ttl = _current_ttl(warehouse, local_name("events", cluster))
    if raw_event_ttl_days > 0:
        if f"toIntervalDay({int(raw_event_ttl_days)})" not in ttl:
            execute(
                "ALTER TABLE events MODIFY TTL toDateTime(occurred_at) + "
                f"INTERVAL {int(raw_event_ttl_days)} DAY DELETE"
            )
    elif ttl:
        execute("ALTER TABLE events REMOVE TTL")


def region_timezone_sql(column: str) -> str:
    """``transform(region, [...], [...], 'Europe/Moscow')`` built from REGION_TIMEZONES."""
    from streams.sla.regions import DEFAULT_TIMEZONE, REGION_TIMEZONES

    def quote(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    regions = ", ".join(quote(r) for r in sorted(REGION_TIMEZONES))
    zones = ", ".join(quote(REGION_TIMEZONES[r]) for r in sorted(REGION_TIMEZONES))
    return f"transform({column}, [{regions}], [{zones}], {quote(DEFAULT_TIMEZONE)})"


def _table_exists(warehouse: Warehouse, table: str) -> bool:
    rows = warehouse.query(
        "SELECT count() FROM system.tables "
        "WHERE database = currentDatabase() AND name = {t:String}",
        {"t": table},
    )
    return bool(rows and rows[0][0])


def _current_ttl(warehouse: Warehouse, table: str) -> str:
    """The table's TTL clause as ClickHouse prints it in engine_full ('' when none)."""
    rows = warehouse.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
        "AND name = {t:String}",
        {"t": table},
    )
    engine = str(rows[0][0]) if rows else ""
    match = re.search(r"\bTTL\b(.*?)(?:\bSETTINGS\b|$)", engine)
    return match.group(1).strip() if match else ""


def _one_line(message: str) -> str:
    """A server error on one line, without the server's stack trace (18.16 appends one)."""
    text = " ".join(message.split("Stack trace:")[0].split())
    return text[:300]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
