"""`kontakt appeals link`: (re)build the appeal_links projection from the raw events."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from schemas.events import parse_timestamp
from schemas.units import DAY_MS
from services.errors import UserError
from services.settings import load_settings

appeals_app = typer.Typer(help="Appeals: a customer's contacts about one matter (docs/appeals.md).")


def _instant(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise UserError(f"{name}: {exc}") from None


@appeals_app.command("link")
def link_command(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="RFC 3339; contacts whose first "
                                              "event is at or after this instant ...")] = None,
    end: Annotated[str | None, typer.Option("--to", help="RFC 3339; ... and before it.")] = None,
    window_days: Annotated[int | None, typer.Option(
        help="Linking window in days (default: KONTAKT_APPEAL_WINDOW_DAYS).")] = None,
) -> None:
    """Link the contacts in scope into appeals with the pure core and write appeal_links.

    Run it over a period at least one window wider than the one you report on; the appeal
    reports read the newest links (docs/appeals.md)."""
    from services.analytics.scope import Scope
    from services.appeals.linking import link_appeals
    from services.warehouse import open_warehouse

    settings = load_settings()
    days = settings.appeal_window_days if window_days is None else window_days
    if days < 0:
        raise UserError("--window-days must be 0 or more")
    scope = Scope(tenant, _instant("--from", start), _instant("--to", end))
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
