"""Migrations on a real embedded warehouse: a fresh chdb through every file, idempotent
re-runs, checksums recorded, and a refused run for edited, missing, renumbered or late files.
Plus the same bookkeeping on the Debian 18.16 server with 18.16-compatible migrations."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.adapters.driver_warehouse import DriverWarehouse
from services.errors import UserError
from services.migrate import MIGRATIONS_DIR, TABLE, apply_settings, discover, migrate
from streams.sla.regions import REGION_TIMEZONES

EXPECTED_TABLES = {
    "events", "contacts", "outcomes", "alerts", "metrics",
    "outcome_stats_hourly", "outcome_stats_daily", TABLE,
}  # fmt: skip


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A private copy of schemas/clickhouse that a test may edit."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__*"))
    return target


def _tables(warehouse: ChdbWarehouse) -> set[str]:
    rows = warehouse.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    return {r[0] for r in rows}


def test_fresh_warehouse_gets_every_migration_in_order(chdb_warehouse: ChdbWarehouse) -> None:
    applied = migrate(chdb_warehouse)
    files = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert [m.path.name for m in applied] == files
    assert _tables(chdb_warehouse) >= EXPECTED_TABLES
    records = chdb_warehouse.query(f"SELECT version, name, checksum, applied_at FROM {TABLE}")
    by_version = {r[0]: r for r in records}
    for path in MIGRATIONS_DIR.glob("*.sql"):
        version, name, checksum, applied_at = by_version[int(path.name[:3])]
        assert name == path.stem
        assert checksum == hashlib.sha256(path.read_bytes()).hexdigest()
        assert abs(applied_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_rerun_is_idempotent(chdb_warehouse: ChdbWarehouse) -> None:
    migrate(chdb_warehouse)
    assert migrate(chdb_warehouse) == []
    count = chdb_warehouse.query(f"SELECT count() FROM {TABLE}")[0][0]
    assert count == len(discover())


def test_dry_run_changes_nothing(chdb_warehouse: ChdbWarehouse) -> None:
    pending = migrate(chdb_warehouse, dry_run=True)
    assert len(pending) == len(discover())
    assert _tables(chdb_warehouse) == {TABLE}


def test_edited_applied_migration_is_an_error_naming_the_file(
    chdb_warehouse: ChdbWarehouse, migrations: Path
) -> None:
    migrate(chdb_warehouse, migrations)
    edited = migrations / "002_contacts.sql"
    edited.write_text(edited.read_text() + "\n-- a harmless-looking comment\n")
    with pytest.raises(UserError, match="002_contacts.sql was edited"):
        migrate(chdb_warehouse, migrations)


def test_missing_applied_migration_is_an_error(
    chdb_warehouse: ChdbWarehouse, migrations: Path
) -> None:
    migrate(chdb_warehouse, migrations)
    (migrations / "004_alerts.sql").unlink()
    with pytest.raises(UserError, match="004_alerts.sql .* is missing"):
        migrate(chdb_warehouse, migrations)


def test_renumbered_migration_is_an_error(chdb_warehouse: ChdbWarehouse, migrations: Path) -> None:
    migrate(chdb_warehouse, migrations)
    (migrations / "005_metrics.sql").rename(migrations / "005_window_metrics.sql")
    with pytest.raises(UserError, match="005_window_metrics.sql has version 005"):
        migrate(chdb_warehouse, migrations)


def test_new_migration_numbered_below_the_last_applied_is_an_error(
    chdb_warehouse: ChdbWarehouse, migrations: Path
) -> None:
    (migrations / "007_outcome_stats_daily.sql").rename(migrations / "020_outcome_stats_daily.sql")
    migrate(chdb_warehouse, migrations)
    (migrations / "019_late.sql").write_text("SELECT 1;")
    with pytest.raises(UserError, match="019_late.sql is numbered below"):
        migrate(chdb_warehouse, migrations)


def test_failed_migration_names_the_file_and_is_not_recorded(
    chdb_warehouse: ChdbWarehouse, migrations: Path
) -> None:
    (migrations / "900_broken.sql").write_text("CREATE TABLE broken (x Nope) ENGINE = Memory;")
    with pytest.raises(UserError, match="900_broken.sql failed"):
        migrate(chdb_warehouse, migrations)
    versions = [r[0] for r in chdb_warehouse.query(f"SELECT version FROM {TABLE}")]
    assert 900 not in versions and len(versions) == len(discover())


def test_badly_named_file_is_refused(chdb_warehouse: ChdbWarehouse, migrations: Path) -> None:
    (migrations / "8_oops.sql").write_text("SELECT 1;")
    with pytest.raises(UserError, match="8_oops.sql is not named"):
        migrate(chdb_warehouse, migrations)


def test_raw_event_ttl_is_applied_changed_and_removed(chdb_warehouse: ChdbWarehouse) -> None:
    def ttl() -> str:
        rows = chdb_warehouse.query(
            "SELECT engine_full FROM system.tables "
            "WHERE database = currentDatabase() AND name = 'events'"
        )
        return str(rows[0][0])

    migrate(chdb_warehouse, raw_event_ttl_days=400)
    assert "toIntervalDay(400)" in ttl()
    migrate(chdb_warehouse, raw_event_ttl_days=30)
    assert "toIntervalDay(30)" in ttl() and "toIntervalDay(400)" not in ttl()
    migrate(chdb_warehouse, raw_event_ttl_days=0)
    assert " TTL " not in ttl()


def test_region_time_zones_come_from_the_shared_mapping(chdb_warehouse: ChdbWarehouse) -> None:
    migrate(chdb_warehouse)
    regions = ["tver", "kursk", "omsk", "kaliningrad", "atlantis"]
    chdb_warehouse.insert(
        "events",
        ["event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at"],
        [
            (f"e{i}", "c", "t", r, "phone", "queued", 1_767_225_600_000)
            for i, r in enumerate(regions)
        ],
    )
    rows = dict(chdb_warehouse.query("SELECT region, timezone FROM events"))
    assert rows == {r: REGION_TIMEZONES.get(r, "Europe/Moscow") for r in regions}
    local = dict(chdb_warehouse.query("SELECT region, toHour(occurred_local) FROM events"))
    assert local["tver"] == 3 and local["omsk"] == 6 and local["kaliningrad"] == 2  # 00:00 UTC


OLD_SERVER_MIGRATIONS = {
    "001_people.sql": "CREATE TABLE IF NOT EXISTS people (id UInt64, name String) "
    "ENGINE = MergeTree ORDER BY id;\n-- a second statement; after a comment\n"
    "CREATE TABLE IF NOT EXISTS visits (id UInt64, at DateTime) ENGINE = MergeTree ORDER BY id;",
    "002_more.sql": "ALTER TABLE people ADD COLUMN note String DEFAULT 'a;b';",
}


@pytest.mark.clickhouse_server
def test_bookkeeping_works_on_the_debian_server(clickhouse_server_url: str, tmp_path: Path) -> None:
    for name, sql in OLD_SERVER_MIGRATIONS.items():
        (tmp_path / name).write_text(sql)
    warehouse = DriverWarehouse(clickhouse_server_url)
    try:
        assert [m.version for m in migrate(warehouse, tmp_path)] == [1, 2]
        assert migrate(warehouse, tmp_path) == []
        assert warehouse.query("SELECT note FROM people") == []
        assert warehouse.query(f"SELECT count() FROM {TABLE}") == [(2,)]
        apply_settings(warehouse, raw_event_ttl_days=30)  # no events table: nothing to do
        (tmp_path / "001_people.sql").write_text("SELECT 1;")
        with pytest.raises(UserError, match="001_people.sql was edited"):
            migrate(warehouse, tmp_path)
    finally:
        warehouse.close()


def test_cli_status_dry_run_and_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from services.cli import warehouse as cli

    app = typer.Typer()
    cli.register(app)
    app.command("noop")(lambda: None)  # two commands, so `migrate` is a subcommand
    monkeypatch.setenv("KONTAKT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KONTAKT_CLICKHOUSE_URL", raising=False)
    runner = CliRunner()

    dry = runner.invoke(app, ["migrate", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would apply 001_events.sql" in dry.output
    status = runner.invoke(app, ["migrate", "--status"])
    assert "001_events.sql" in status.output and "pending" in status.output
    applied = runner.invoke(app, ["migrate"])
    assert applied.exit_code == 0, applied.output
    assert "applied 007_outcome_stats_daily.sql" in applied.output
    again = runner.invoke(app, ["migrate"])
    assert "schema up to date" in again.output
    status = runner.invoke(app, ["migrate", "--status"])
    assert "pending" not in status.output and status.output.count("applied") == len(discover())
