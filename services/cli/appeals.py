"""`kontakt appeals link`: (re)build the appeal_links projection from the raw events."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from schemas.units import DAY_MS
from services.cli.history import FromOpt, ToOpt, scope_options
from services.errors import UserError
from services.settings import load_settings

appeals_app = typer.Typer(help="Appeals: a customer's contacts about one matter (docs/appeals.md).")


@appeals_app.command("link")
def link_command(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all).")] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    window_days: Annotated[int | None, typer.Option(
        help="Linking window in days (default: KONTAKT_APPEAL_WINDOW_DAYS).")] = None,
) -> None:
    """Link the contacts in scope into appeals with the pure core and write appeal_links.

    Run it over a period at least one window wider than the one you report on; the appeal
    reports read the newest links (docs/appeals.md). While the platform runs, its API does the
    work (it owns the embedded warehouse)."""
    from services.appeals.linking import link_appeals
    from services.local.api_link import post, running_api
    from services.warehouse import open_warehouse

    settings = load_settings()
    days = settings.appeal_window_days if window_days is None else window_days
    if days < 0:
        raise UserError("--window-days must be 0 or more")
    scope = scope_options(tenant, start, end)
    api = running_api(settings)
    if api is not None:  # the running API owns the warehouse: it runs the job
        body = {"tenant": tenant, "from": start, "to": end, "window_days": days}
        done = post(api, "/v1/jobs/appeals-link", body).json()
        typer.echo(f"linked {done['contacts']} contacts into {done['appeals']} appeals "
                   f"({done['repeat_appeals']} took more than one contact; run by the API)")
        return
    warehouse = open_warehouse(settings)
    try:
        result = link_appeals(warehouse, scope, window_ms=days * DAY_MS,
                              linked_at=int(time.time() * 1000))
    finally:
        warehouse.close()
    typer.echo(f"linked {result.contacts} contacts into {result.appeals} appeals "
               f"({result.repeat_appeals} took more than one contact)")


def register(app: typer.Typer) -> None:
    app.add_typer(appeals_app, name="appeals")
