"""`kontakt keys create|list|revoke`: API keys per tenant, stored hashed in data_dir/keys.json."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.errors import UserError
from services.settings import load_settings

keys_app = typer.Typer(help="Manage API keys (per tenant, with scopes).", no_args_is_help=True)


def _store() -> KeyStore:
    return KeyStore(key_store_path(load_settings().data_dir))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _stamp(epoch_ms: int | None) -> str:
    return "" if epoch_ms is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch_ms / 1000))


@keys_app.command("create")
def create(
    tenant: Annotated[str, typer.Option(help="Tenant the key writes and reads for.")],
    scope: Annotated[
        list[Scope], typer.Option("--scope", help="Scope to grant; repeat for several.")
    ],
    tenant_type: Annotated[
        TenantType | None,
        typer.Option("--type", help="Tenant type, required when the tenant is new."),
    ] = None,
    label: Annotated[str, typer.Option(help="Free note: who or what uses the key.")] = "",
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    if not tenant.strip():
        raise UserError("--tenant must not be empty")
    record, clear = _store().create(
        tenant, scope, tenant_type=tenant_type, now_ms=_now_ms(), label=label
    )
    typer.echo(
        f"created key {record.key_id} for tenant {record.tenant} "
        f"(scopes: {', '.join(record.scopes)}); it is shown only now:",
        err=True,
    )
    typer.echo(clear)


@keys_app.command("list")
def list_keys() -> None:
    """List keys (id, tenant, tenant type, scopes, created, revoked); never the secrets."""
    store = _store()
    tenants = store.tenants()
    keys = store.keys()
    if not keys:
        typer.echo("no API keys yet; create one with `kontakt keys create`")
        return
    typer.echo(
        f"{'id':14} {'tenant':20} {'type':7} {'scopes':20} {'created':17} {'revoked':17} label"
    )
    for k in keys:
        ttype = tenants.get(k.tenant, "")
        typer.echo(
            f"{k.key_id:14} {k.tenant:20} {ttype:7} {','.join(k.scopes):20} "
            f"{_stamp(k.created_at):17} {_stamp(k.revoked_at):17} {k.label}"
        )


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Key id as shown by `kontakt keys list`.")],
) -> None:
    """Revoke a key; a running API refuses it from its next request on."""
    record = _store().revoke(key_id, now_ms=_now_ms())
    typer.echo(f"revoked key {record.key_id} of tenant {record.tenant}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
