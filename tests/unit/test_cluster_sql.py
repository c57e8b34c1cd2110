"""The cluster rendering of the migrations (services/adapters/cluster_sql.py), table by table for
every migration file; without a cluster the text that runs today, byte for byte."""

from __future__ import annotations

import re

import pytest

from services.adapters.cluster_sql import render, render_statement, sharding_key
from services.adapters.sqltext import split_statements, strip_comments
from services.migrate import discover
from services.settings import load_settings

ON = "ON CLUSTER 'kontakt'"
ZK = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
CONTACT = "cityHash64(tenant, contact_id)"


def table(name: str, engine: str, key: str) -> list[tuple[str, str]]:
    """A MergeTree table's two statements: (header, engine clause)."""
    return [
        (f"CREATE TABLE IF NOT EXISTS {name}_local {ON}", f"ENGINE = {engine}"),
        (f"CREATE TABLE IF NOT EXISTS {name} {ON}",
         f"ENGINE = Distributed('kontakt', currentDatabase(), '{name}_local', {key})"),
    ]


def view(header: str) -> list[tuple[str, str]]:
    return [(header, "")]


# Every migration file, every statement it renders to: (header line, engine clause or '').
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "001_events.sql": table("events", f"ReplicatedReplacingMergeTree({ZK})", CONTACT),
    "002_contacts.sql": table("contacts", f"ReplicatedReplacingMergeTree({ZK}, version)",
                              CONTACT),
    "003_outcomes.sql": table(
        "outcomes", f"ReplicatedReplacingMergeTree({ZK}, evaluated_at)", CONTACT),
    "004_alerts.sql": table("alerts", f"ReplicatedReplacingMergeTree({ZK})", CONTACT),
    "005_metrics.sql": table(
        "metrics", f"ReplicatedReplacingMergeTree({ZK}, taken_at)",
        "cityHash64(tenant, window, channel, region, office, window_start, partition)"),
    "006_outcome_stats_hourly.sql": table(
        "outcome_stats_hourly", f"ReplicatedAggregatingMergeTree({ZK})",
        "cityHash64(tenant, channel, region, customer_category, milestone, local_hour)")
    + view(f"CREATE MATERIALIZED VIEW IF NOT EXISTS outcome_stats_hourly_mv {ON} "
           "TO outcome_stats_hourly_local AS"),
    "007_outcome_stats_daily.sql": table(
        "outcome_stats_daily", f"ReplicatedAggregatingMergeTree({ZK})",
        "cityHash64(tenant, channel, region, customer_category, milestone, local_day)")
    + view(f"CREATE MATERIALIZED VIEW IF NOT EXISTS outcome_stats_daily_mv {ON} "
           "TO outcome_stats_daily_local AS"),
    "008_appeal_links.sql": table(
        "appeal_links", f"ReplicatedReplacingMergeTree({ZK}, linked_at)", CONTACT),
    "009_appeal_views.sql": view(f"CREATE VIEW IF NOT EXISTS contact_customer_time {ON} AS")
    + view(f"CREATE VIEW IF NOT EXISTS appeal_figures {ON} AS"),
    "010_remediation.sql": table(
        "remediation", f"ReplicatedReplacingMergeTree({ZK})",
        "cityHash64(tenant, action_id, remediation_id)"),
    "011_sl_daily.sql": table(
        "sl_daily", f"ReplicatedMergeTree({ZK})",
        "cityHash64(tenant, refreshed_at, local_day, channel, region)")
    + view(f"CREATE MATERIALIZED VIEW IF NOT EXISTS sl_daily_refresh {ON}"),
    "012_appeal_figures_first_contact.sql": view(f"CREATE OR REPLACE VIEW appeal_figures {ON} AS"),
    # a column ALTER goes to the shard-local table and to the Distributed one
    "013_outcome_policy_version.sql": [
        (f"ALTER TABLE outcomes{local} {ON} ADD COLUMN IF NOT EXISTS {column}", "")
        for column in ("policy_version UInt32 DEFAULT 0",
                       "policy LowCardinality(String) DEFAULT ''")
        for local in ("_local", "")],
    "014_policy_versions.sql": table(
        "policy_versions", f"ReplicatedReplacingMergeTree({ZK})",
        "cityHash64(tenant, policy_version, scope)")
    + view(f"CREATE VIEW IF NOT EXISTS policy_targets {ON} AS"),
}
MIGRATIONS = {m.path.name: m for m in discover()}


def test_every_migration_has_its_expected_rendering() -> None:
    assert set(EXPECTED) == set(MIGRATIONS), "a new migration: add its cluster rendering here"


def test_without_a_cluster_the_text_is_what_runs_today() -> None:
    for migration in MIGRATIONS.values():
        assert render(migration.sql, "") == migration.sql
        assert migration.statements_for("") == migration.statements
        assert migration.statements_for("") == split_statements(migration.sql)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cluster_rendering_table_by_table(name: str) -> None:
    migration = MIGRATIONS[name]
    rendered = migration.statements_for("kontakt")
    assert render(migration.sql, "kontakt").count(";\n\n") == len(rendered)
    assert [(s.splitlines()[0], _engine(s)) for s in rendered] == EXPECTED[name]
    originals = iter(strip_comments(s) for s in migration.statements)
    original = ""
    for statement in rendered:
        if re.match(rf"ALTER TABLE \w+(?<!_local) {ON} \w+ COLUMN ", statement):
            body = statement.split(ON, 1)[1]  # the Distributed twin of the local ALTER before
            assert original.endswith(body) and original.startswith("ALTER TABLE")
        elif statement.split("\n", 1)[0].endswith(f"_local {ON}"):  # the shard-local table
            original = next(originals)
            # everything but the name and the engine is the migration's own text
            assert _without_engine(statement).split("\n", 1)[1] == \
                _without_engine(original).split("\n", 1)[1]
        elif "Distributed(" in statement:
            local = re.search(r"'(\w+_local)'", statement)
            assert local and f"\nAS {local.group(1)}\n" in statement
        else:
            original = next(originals)
            body = statement.split(ON, 1)[1]
            if " MATERIALIZED VIEW " in statement:  # reads and writes the shard-local tables
                assert re.findall(r"\b(?:FROM|TO) (\w+)", body) == [
                    f"{t}_local" for t in re.findall(r"\b(?:FROM|TO) (\w+)", original)]
                body = re.sub(r"\b((?:FROM|TO) \w+)_local\b", r"\1", body)
            assert original.endswith(body)
    assert next(originals, None) is None


def test_materialized_views_read_outcomes_local() -> None:
    for name in ("006_outcome_stats_hourly.sql", "007_outcome_stats_daily.sql",
                 "011_sl_daily.sql"):
        text = render(MIGRATIONS[name].sql, "kontakt")
        assert "FROM outcomes_local" in text and "FROM outcomes\n" not in text


def test_plain_views_read_the_distributed_tables() -> None:
    text = render(MIGRATIONS["009_appeal_views.sql"].sql, "kontakt")
    assert "FROM appeal_links\n" in text and "FROM events\n" in text and "_local" not in text


def test_alter_and_drop() -> None:
    assert render_statement("ALTER TABLE events MODIFY TTL toDateTime(occurred_at) + "
                            "INTERVAL 3 DAY DELETE", "c") == [
        "ALTER TABLE events_local ON CLUSTER 'c' MODIFY TTL toDateTime(occurred_at) + "
        "INTERVAL 3 DAY DELETE"]
    assert render_statement("ALTER TABLE events REMOVE TTL", "c") == [
        "ALTER TABLE events_local ON CLUSTER 'c' REMOVE TTL"]
    assert render_statement("ALTER TABLE outcomes MODIFY COLUMN tz String DEFAULT 'x'", "c") == [
        "ALTER TABLE outcomes_local ON CLUSTER 'c' MODIFY COLUMN tz String DEFAULT 'x'",
        "ALTER TABLE outcomes ON CLUSTER 'c' MODIFY COLUMN tz String DEFAULT 'x'"]
    assert render_statement("DROP TABLE IF EXISTS t", "c") == [
        "DROP TABLE IF EXISTS t ON CLUSTER 'c'", "DROP TABLE IF EXISTS t_local ON CLUSTER 'c'"]
    assert render_statement("DROP VIEW v", "c") == ["DROP VIEW v ON CLUSTER 'c'"]


def test_engine_arguments_are_kept_and_comments_do_not_count() -> None:
    sql = ("-- a ReplacingMergeTree ENGINE = MergeTree in a comment\n"
           "CREATE TABLE t (tenant String, k String, v UInt64, d UInt8) "
           "ENGINE = ReplacingMergeTree(v, d) ORDER BY (tenant, k)")
    local, distributed = split_statements(render(sql, "c"))
    assert local == ("CREATE TABLE t_local ON CLUSTER 'c' (tenant String, k String, v UInt64, "
                     f"d UInt8) ENGINE = ReplicatedReplacingMergeTree({ZK}, v, d) "
                     "ORDER BY (tenant, k)")
    assert distributed.endswith("'t_local', cityHash64(tenant, k))")
    assert sharding_key("CREATE TABLE x (a String) ENGINE = MergeTree ORDER BY a") == \
        "cityHash64(a)"


@pytest.mark.parametrize("bad", ["", "two words", "x'; DROP", "c" * 129])
def test_bad_cluster_names_are_refused(bad: str) -> None:
    if bad:
        with pytest.raises(ValueError, match="cluster name"):
            render("SELECT 1", bad)
    with pytest.raises(ValueError, match="clickhouse_cluster"):
        load_settings(clickhouse_cluster=bad or " ")


def test_clickhouse_parses_every_rendered_statement() -> None:
    """ClickHouse 26's own parser (chdb's formatQuery) accepts each statement as written."""
    import chdb

    for migration in MIGRATIONS.values():
        for statement in migration.statements_for("kontakt"):
            quoted = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
            result = chdb.query(f"SELECT formatQuerySingleLine({quoted})", "TSVRaw")
            assert "ON CLUSTER kontakt" in result.bytes().decode(), statement


def _engine(statement: str) -> str:
    match = re.search(r"^ENGINE = .*$", statement, re.MULTILINE)
    return match.group(0) if match else ""


def _without_engine(statement: str) -> str:
    return re.sub(r"^ENGINE = .*$", "ENGINE", statement, flags=re.MULTILINE)


class RecordingWarehouse:
    """A warehouse that answers migrate's reads (nothing applied, every table there, no TTL)
    and records the rest."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.inserted: list[str] = []

    def execute(self, sql: str, params: object = None) -> None:
        self.executed.append(sql)

    def query(self, sql: str, params: object = None) -> list[tuple[object, ...]]:
        if "count()" in sql:
            return [(1,)]
        if "engine_full" in sql:
            assert params == {"t": "events_local"}
            return [("ReplicatedReplacingMergeTree(...) ORDER BY x",)]
        return []

    def insert(self, table: str, columns: object, rows: object) -> None:
        self.inserted.append(table)


def test_migrate_on_a_cluster_runs_the_rendered_statements() -> None:
    from services.migrate import migrate

    warehouse = RecordingWarehouse()
    migrate(warehouse, raw_event_ttl_days=7, cluster="kontakt")  # type: ignore[arg-type]
    rendered = [s for m in MIGRATIONS.values() for s in m.statements_for("kontakt")]
    assert warehouse.executed[1:1 + len(rendered)] == rendered
    assert [s.split(" MODIFY ")[0] for s in warehouse.executed[1 + len(rendered):]] == [
        f"ALTER TABLE events_local {ON}", f"ALTER TABLE events {ON}",
        f"ALTER TABLE outcomes_local {ON}", f"ALTER TABLE outcomes {ON}",
        f"ALTER TABLE events_local {ON}"]
    assert warehouse.inserted == ["kontakt_schema_migrations"] * len(MIGRATIONS)


def test_a_cluster_needs_a_server() -> None:
    from services.errors import UserError
    from services.migrate import apply_migrations

    settings = load_settings(clickhouse_cluster="kontakt", clickhouse_url="chdb:///tmp/x")
    with pytest.raises(UserError, match="needs a ClickHouse server"):
        apply_migrations(RecordingWarehouse(), settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("cluster", ["", "kontakt"])
def test_migrate_sql_prints_what_would_run(monkeypatch: pytest.MonkeyPatch, cluster: str) -> None:
    from typer.testing import CliRunner

    from services.cli import warehouse as warehouse_cli
    from services.cli.main import app

    if not any(c.name == "migrate" for c in app.registered_commands):
        warehouse_cli.register(app)
    monkeypatch.setenv("KONTAKT_CLICKHOUSE_CLUSTER", cluster)
    monkeypatch.setenv("KONTAKT_CLICKHOUSE_URL", "clickhouse://nobody@127.0.0.1:1/x")  # unused
    result = CliRunner().invoke(app, ["migrate", "--sql"])
    assert result.exit_code == 0, result.output
    expected = "".join(
        f"-- {m.path.name}\n" + "".join(f"{s};\n\n" for s in m.statements_for(cluster))
        for m in MIGRATIONS.values())
    assert result.output == expected
    assert (f"ON CLUSTER '{cluster}'" in result.output) is bool(cluster)
