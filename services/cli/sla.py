"""`kontakt sla evaluate|explain|metrics`: the replay CLI, a thin shell around streams.sla.

All logic lives in the pure core (streams/sla/replay.py, explain.py, metrics.py); this module
only opens files, parses options and prints.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from services.errors import UserError

sla_app = typer.Typer(
    name="sla",
    help="Replay contact events through an SLA policy: outcomes, timelines and metrics.",
    no_args_is_help=True,
)

PolicyOpt = Annotated[
    str | None,
    typer.Option(
        "--policy",
        "-p",
        help="Preset name (rao-ues-2007, minenergo-186) or TOML file "
        "(default: KONTAKT_SLA_POLICY, else rao-ues-2007).",
    ),
]
VersionsOpt = Annotated[
    Path | None,
    typer.Option(
        "--policies",
        help="A TOML file of tenants' policy versions ([[versions]] tables: tenant, "
        "effective_from, default, overrides; docs/sla.md). Each contact is judged by its "
        "tenant's version in force at its first event; --policy judges the rest.",
    ),
]
InputOpt = Annotated[
    Path | None,
    typer.Option("--input", "-i", help="NDJSON file of canonical events (default: stdin)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Evaluate at this RFC 3339 instant (default: the latest occurred_at in the input).",
    ),
]


@contextmanager
def _open_input(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        yield sys.stdin.buffer
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        message = f"cannot read {path}: {exc.strerror}; pass an existing NDJSON file"
        raise UserError(message) from None
    with handle:
        yield handle


def _policy(name: str | None, versions: Path | None = None) -> Any:
    """The Policy named (or the setting's), with the versions file's tenants over it."""
    from services.settings import load_settings
    from streams.sla.policy import PolicyError, load_policy
    from streams.sla.versions import Rules, load_versions

    try:
        policy = load_policy(name if name is not None else load_settings().sla_policy)
        return policy if versions is None else Rules(policy, load_versions(str(versions)))
    except PolicyError as exc:
        raise UserError(str(exc)) from None


def _as_of(text: str | None) -> int | None:
    from schemas.events import parse_timestamp

    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise UserError(f"--as-of: {exc}") from None


def _report_errors(errors: list[Any]) -> None:
    for error in errors:
        typer.echo(f"kontakt sla: {error}", err=True)
    if errors:
        typer.echo(f"kontakt sla: {len(errors)} bad line(s) skipped", err=True)


@sla_app.command("evaluate")
def evaluate_cmd(
    policy: PolicyOpt = None,
    policies: VersionsOpt = None,
    as_of: AsOfOpt = None,
    input_path: InputOpt = None,
) -> None:
    """Write one JSON line per (contact, milestone), sorted by contact then milestone.

    Bad input lines are reported on stderr with their line number (exit code 1); every good
    line is still evaluated.
    """
    from streams.sla.replay import ndjson_chunks, replay

    pol, when = _policy(policy, policies), _as_of(as_of)
    with _open_input(input_path) as stream:
        result = replay(stream, pol, when)
    out = sys.stdout.buffer
    for chunk in ndjson_chunks(result.outcomes):  # one write per 256 lines, not per line
        out.write(chunk)
    out.flush()
    if result.anomalies:
        typer.echo(f"kontakt sla: {len(result.anomalies)} contact(s) with anomalies "
                   "(see `kontakt sla explain CONTACT_ID`)", err=True)
    _report_errors(result.errors)
    if result.errors:
        raise typer.Exit(1)


@sla_app.command("explain")
def explain_cmd(
    contact_id: Annotated[str, typer.Argument(help="The contact to explain.")],
    policy: PolicyOpt = None,
    policies: VersionsOpt = None,
    as_of: AsOfOpt = None,
    input_path: InputOpt = None,
) -> None:
    """Print a readable timeline of one contact's events and clocks."""
    from streams.sla.explain import explain
    from streams.sla.replay import load_events
    from streams.sla.state import build_state

    pol, when = _policy(policy, policies), _as_of(as_of)
    with _open_input(input_path) as stream:
        loaded = load_events(stream)
    events = loaded.events.get(contact_id)
    if not events:
        raise UserError(f"no events for contact {contact_id!r} in the input; check the id")
    state = build_state(events)
    at = when if when is not None else loaded.latest
    for line in explain(state, pol, at if at is not None else state.events[-1].occurred_at):
        typer.echo(line)
    _report_errors(loaded.errors)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    columns = list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*columns).rstrip(), fmt.format(*("-" * w for w in widths))] + [
        fmt.format(*row).rstrip() for row in cells
    ]


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


@sla_app.command("metrics")
def metrics_cmd(
    policy: PolicyOpt = None,
    policies: VersionsOpt = None,
    as_of: AsOfOpt = None,
    input_path: InputOpt = None,
    by: Annotated[
        str, typer.Option(help="Comma-separated grouping: channel, region, office, "
                          "customer_category, kind, tenant.")
    ] = "channel",
    short_abandon_seconds: Annotated[
        float | None,
        typer.Option(help="Abandons after at most this wait are short (excluded); "
                     "default: KONTAKT_WORKER_SHORT_ABANDON_MS, else 5 s."),
    ] = None,
    threshold_seconds: Annotated[
        float, typer.Option(help="Service-level threshold for queued channels the policy "
                            "does not name (the policy's queue targets win).")
    ] = 40.0,
    output_format: Annotated[
        str, typer.Option("--format", help="table, json or csv.")
    ] = "table",
) -> None:
    """Print queue metrics and milestone compliance per group.

    Queue: service level, ASA, abandon rate, longest wait, AHT. Compliance: counts per status
    and the share met, per milestone.
    """
    from services.settings import load_settings
    from streams.sla.metrics import check_group_by, compliance, queue_metrics, queue_thresholds
    from streams.sla.replay import evaluate_all, load_events, paused_gc
    from streams.sla.versions import rules_of

    if output_format not in ("table", "json", "csv"):
        raise UserError(f"--format {output_format!r}: use table, json or csv")
    try:
        group_by = check_group_by([g.strip() for g in by.split(",") if g.strip()])
    except ValueError as exc:
        raise UserError(f"--by: {exc}") from None
    pol, when = _policy(policy, policies), _as_of(as_of)
    short_ms = (load_settings().worker_short_abandon_ms if short_abandon_seconds is None
                else round(short_abandon_seconds * 1000))
    reports: dict[str, list[dict[str, Any]]] = {"queue": [], "compliance": []}
    with _open_input(input_path) as stream, paused_gc():
        loaded = load_events(stream)
        at = when if when is not None else loaded.latest
        states = loaded.states()
        if at is not None:
            reports["queue"] = queue_metrics(
                states.values(), at, thresholds=queue_thresholds(rules_of(pol).fallback),
                default_threshold_ms=round(threshold_seconds * 1000),
                short_abandon_ms=short_ms, group_by=group_by,
            )
            reports["compliance"] = compliance(evaluate_all(states, pol, at), group_by=group_by)
    if output_format == "json":
        typer.echo(orjson.dumps(reports, option=orjson.OPT_INDENT_2).decode())
    else:
        for name, rows in reports.items():
            typer.echo(f"# {name}")
            typer.echo(_csv(rows) if output_format == "csv" else "\n".join(_table(rows)) + "\n")
    _report_errors(loaded.errors)
    if loaded.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `sla` command group to the kontakt CLI."""
    app.add_typer(sla_app, name="sla")
