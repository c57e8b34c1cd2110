"""`kontakt policy publish|list|show|diff`: a tenant's SLA policy versions (docs/policies.md).

The commands talk to Kafka directly, not to the API, as `kontakt keys` writes keys.json
directly: whoever runs `kontakt` on the platform's host is its operator (they reach the broker
and the data directory), the commands work while the API is down, and ``published_by`` is who
ran them (``cli:<user>``), which the API could not vouch for. They validate, number and check
with the same code as the API (services/policies/publish.py); a publish racing the API or
another CLI is detected by re-reading the topic, and reported instead of lost silently.
"""

from __future__ import annotations

import getpass
import json
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from services.errors import UserError

if TYPE_CHECKING:
    from services.policies.log import PolicyLog
    from services.settings import Settings
    from streams.sla.versions import PolicyVersion

policy_app = typer.Typer(help="Tenants' SLA policy versions on the policies topic "
                         "(docs/policies.md).", no_args_is_help=True)
TenantOpt = Annotated[str, typer.Option("--tenant", help="The tenant whose versions these are.")]


def open_log(settings: Settings) -> PolicyLog:
    """The policies topic of these settings (tests replace this function)."""
    from services.policies.kafka_log import KafkaPolicyLog

    return KafkaPolicyLog(settings.kafka_bootstrap, settings.topic("policies"))


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        return "cli:unknown"


def _history(log: PolicyLog, tenant: str) -> list[PolicyVersion]:
    from services.policies.log import PolicyLogUnavailable

    try:
        history = log.history(tenant)
    except PolicyLogUnavailable as exc:
        raise UserError(str(exc)) from None
    if not history:
        raise UserError(f"tenant {tenant!r} has no policy versions (the platform's "
                        "KONTAKT_SLA_POLICY judges its contacts)")
    return history


def _one(history: list[PolicyVersion], number: int | None) -> PolicyVersion:
    if number is None:
        return history[-1]
    for v in history:
        if v.version == number:
            return v
    raise UserError(f"tenant {history[0].tenant!r} has no version {number}; it has "
                    f"{', '.join(str(v.version) for v in history)}")


@policy_app.command("publish")
def publish_command(
    file: Annotated[Path, typer.Argument(help="The version document (TOML: effective_from, "
                                         "comment, [default], [[overrides]]).")],
    tenant: TenantOpt,
    effective_from: Annotated[str | None, typer.Option(
        help="RFC 3339 instant; overrides the file's. Neither: publish instant + "
        "KONTAKT_POLICY_MIN_LEAD_S.")] = None,
) -> None:
    """Validate FILE and publish it as the tenant's next version."""
    from schemas.events import format_timestamp
    from services.policies.log import PolicyLogUnavailable
    from services.policies.publish import PolicyConflict, PolicyPublisher
    from services.settings import load_settings
    from streams.sla.policy import PolicyError

    try:
        doc: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{file}: not valid TOML: {exc}") from None
    if effective_from is not None:
        doc["effective_from"] = effective_from
    settings = load_settings()
    publisher = PolicyPublisher(open_log(settings), min_lead_ms=settings.policy_min_lead_s * 1000,
                                clock=lambda: time.time_ns() // 1_000_000)
    try:
        v = publisher.publish(tenant, doc, published_by=_user())
    except (PolicyError, PolicyLogUnavailable, PolicyConflict) as exc:
        raise UserError(f"{file}: {exc}") from None
    typer.echo(f"published {tenant} version {v.version}: in force from "
               f"{format_timestamp(v.effective_from)} (by {v.published_by})")


@policy_app.command("list")
def list_command(tenant: TenantOpt) -> None:
    """The tenant's versions, oldest first; * marks the one in force now."""
    from schemas.events import format_timestamp
    from services.settings import load_settings
    from streams.sla.versions import book_of, version_at

    history = _history(open_log(load_settings()), tenant)
    current = version_at(book_of(history), tenant, time.time_ns() // 1_000_000)
    rows = [("", "version", "effective_from", "published_at", "published_by", "comment")]
    rows += [("*" if current is not None and v.version == current.version else "",
              str(v.version), format_timestamp(v.effective_from),
              format_timestamp(v.published_at), v.published_by, v.comment) for v in history]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])


@policy_app.command("show")
def show_command(
    tenant: TenantOpt,
    version: Annotated[int | None, typer.Option(help="Which version (default: the newest).")
                       ] = None,
    output_format: Annotated[str, typer.Option("--format", help="toml (publishable as it is) "
                                               "or json.")] = "toml",
) -> None:
    """Print one version's document (presets resolved to their rules)."""
    from tomli_w import dumps

    from services.settings import load_settings
    from streams.sla.versions import version_document

    if output_format not in ("toml", "json"):
        raise UserError(f"--format {output_format!r}: use toml or json")
    v = _one(_history(open_log(load_settings()), tenant), version)
    doc = version_document(v)
    if output_format == "json":
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    typer.echo(f"# {tenant} version {v.version}, published by {v.published_by}")
    typer.echo(dumps(doc), nl=False)


@policy_app.command("diff")
def diff_command(
    tenant: TenantOpt,
    a: Annotated[int, typer.Argument(help="The older version.")],
    b: Annotated[int, typer.Argument(help="The newer version.")],
) -> None:
    """What changes from version A to version B, scope by scope and milestone by milestone."""
    from services.policies.diff import diff_versions, format_diff
    from services.settings import load_settings

    history = _history(open_log(load_settings()), tenant)
    va, vb = _one(history, a), _one(history, b)
    for line in format_diff(va, vb, diff_versions(va, vb)):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
