"""Entry point of the `kontakt` console command.

Each feature registers its subcommands in its own module; this file only wires them together.
Settings are built once per process here (services.settings.load_settings), not at import.
"""

from __future__ import annotations

import importlib
import sys

import typer

from services.errors import UserError

app = typer.Typer(
    name="kontakt",
    help="Kontakt: customer-contact SLA platform for energy utilities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Kontakt: customer-contact SLA platform for energy utilities."""


# One entry per feature module; each module exposes `register(app: typer.Typer) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "services.cli.platform",
    "services.cli.sla",
    "services.cli.warehouse",
    "services.cli.simulate",
    "services.cli.kafka",
    "services.cli.worker",
    "services.cli.keys",
    "services.cli.send",
    "services.cli.history",  # sink, backfill, sla whatif
    "services.cli.notifier",  # kontakt notifier (webhook/email alerts)
    "services.cli.appeals",  # kontakt appeals link
    "services.cli.staffing",  # kontakt staffing plan
    "services.cli.sql",  # kontakt sql (through the running API, or chdb when it is down)
    "services.cli.policy",  # kontakt policy publish|list|show|diff (the policies topic)
)


@app.command()
def version() -> None:
    """Print Kontakt's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("kontakt"))


def _register() -> None:
    for module_path in COMMAND_MODULES:
        importlib.import_module(module_path).register(app)


def main() -> None:
    _register()
    try:
        app()
    except UserError as exc:
        typer.echo(f"kontakt: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
