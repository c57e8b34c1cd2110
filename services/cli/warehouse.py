"""`kontakt migrate`: bring the warehouse schema up to date (schemas/clickhouse/NNN_*.sql)."""

from __future__ import annotations

from typing import Annotated

import typer

from services.settings import load_settings


def migrate_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the migrations that would run; change nothing.")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Show every migration: applied (when) or pending.")
    ] = False,
    sql: Annotated[
        bool,
        typer.Option("--sql", help="Print every migration's statements as they would run "
                     "(ON CLUSTER with KONTAKT_CLICKHOUSE_CLUSTER); connect to nothing."),
    ] = False,
) -> None:
    """Apply pending ClickHouse migrations in order, then the TTL and region time zones.

    The warehouse is KONTAKT_CLICKHOUSE_URL (embedded chdb under the data dir by default).
    An edited, missing or renumbered applied migration stops the run with its file name.
    """
    from services import migrate
    from services.warehouse import open_warehouse

    settings = load_settings()
    if sql:
        for m in migrate.discover():
            typer.echo(f"-- {m.path.name}")
            for statement in m.statements_for(settings.clickhouse_cluster):
                typer.echo(f"{statement};\n")
        return
    warehouse = open_warehouse(settings)
    try:
        if status:
            done = {a.version: a for a in migrate.applied(warehouse)}
            for m in migrate.discover():
                record = done.get(m.version)
                state = f"applied {record.applied_at:%Y-%m-%d %H:%M:%S}" if record else "pending"
                typer.echo(f"{m.path.name:<40} {state}")
            migrate.check(migrate.discover(), list(done.values()))
            return
        if dry_run:
            pending = migrate.migrate(warehouse, dry_run=True)
            for m in pending:
                count = len(m.statements_for(settings.clickhouse_cluster))
                typer.echo(f"would apply {m.path.name} ({count} statements)")
            if not pending:
                typer.echo("schema up to date; nothing would run")
            return
        for line in migrate.apply_migrations(warehouse, settings):
            typer.echo(line)
    finally:
        warehouse.close()


def register(app: typer.Typer) -> None:
    app.command(name="migrate")(migrate_command)
