"""`kontakt sink`, `kontakt backfill` and `kontakt sla whatif`: history in ClickHouse.

Thin shells: the work is in services/sink (consumer loop) and services/analytics (backfill,
what-if over the pure SLA core). With the embedded chdb warehouse only one process may open the
warehouse directory: `kontakt api` already runs the sink inside itself there, and backfill or
what-if need the API stopped (or a clickhouse:// server) -- the warehouse says so if not --
except backfill, which the running API runs for it (POST /v1/jobs/backfill).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Annotated, Any

import typer

from services.analytics.scope_text import instant_option as _instant
from services.analytics.scope_text import load_policy_option as _policy
from services.analytics.scope_text import scope_options
from services.errors import UserError

FromOpt = Annotated[str | None, typer.Option("--from", help="RFC 3339 instant or a plain date "
                                             "(Moscow midnight); contacts whose first event is "
                                             "at or after it.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="RFC 3339 (exclusive) or a plain date "
                                           "(that day included); ... and before it.")]
TenantOpt = Annotated[str | None, typer.Option(help="Only this tenant (default: all).")]


def sink_command(
    batch_rows: Annotated[int | None, typer.Option(help="Rows per insert (default: "
                                                   "KONTAKT_SINK_BATCH_ROWS).")] = None,
    batch_seconds: Annotated[float | None, typer.Option(help="Longest wait before an insert "
                                                        "(default: KONTAKT_SINK_BATCH_SECONDS)."
                                                        )] = None,
) -> None:
    """Copy contact events, SLA outcomes, alerts and metrics from Kafka into ClickHouse.

    Offsets are committed only after ClickHouse accepted a batch; after a crash the batch is
    delivered again and the ReplacingMergeTree tables absorb the duplicates. Stops on SIGTERM
    or Ctrl-C after writing what it holds.
    """
    from services.logs import configure_logging
    from services.settings import load_settings
    from services.sink.runner import Sink
    from services.sink.service import run_forever, sink_config
    from services.warehouse import open_warehouse

    overrides: dict[str, Any] = {}
    if batch_rows is not None:
        overrides["sink_batch_rows"] = batch_rows
    if batch_seconds is not None:
        overrides["sink_batch_seconds"] = batch_seconds
    settings = load_settings(**overrides)
    configure_logging(settings.log_format)
    config = sink_config(settings)
    warehouse = open_warehouse(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sink = Sink(warehouse, config)
    from services.metrics.serve import serve_metrics

    serve_metrics(settings.sink_metrics_port, settings.metrics_host, "sink")
    log = logging.getLogger("services.sink")
    log.info("sink: %s -> %s", ", ".join(config.topics), settings.warehouse_url.split("@")[-1])
    try:
        run_forever(sink, stop)
    finally:
        warehouse.close()
    s = sink.stats
    log.info("sink: stopped after %d records, %d rows in %d batches, %d undecodable",
             s.records, s.rows, s.batches, s.undecodable)


def _progress_bar(label: str) -> tuple[Any, Any, Any]:
    from tqdm import tqdm

    bar = tqdm(total=0, unit="contact", desc=label, disable=None)

    def on_total(total: int) -> None:
        bar.reset(total=total)

    return bar, on_total, bar.update


def backfill_command(
    policy: Annotated[str | None, typer.Option("--policy", "-p", help="Preset or TOML file "
                                               "(default: KONTAKT_SLA_POLICY).")] = None,
    tenant: TenantOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluate at this RFC 3339 "
                                              "instant (default: the latest stored event).")
                     ] = None,
    versions: Annotated[bool, typer.Option("--versions/--no-versions", help="Judge each "
                                           "contact by its tenant's policy versions, as the "
                                           "worker does (--no-versions: by --policy alone).")
                        ] = True,
) -> None:
    """Rebuild the contacts and outcome tables from the raw events with the pure SLA core.

    Without --tenant/--from/--to the projections are emptied and rebuilt; with --tenant that
    tenant's rows are replaced; with a period the contacts in it are overwritten. While the
    platform runs, its API does the work (it owns the embedded warehouse).
    """
    from services.analytics.backfill import backfill
    from services.analytics.policy_rules import stored_rules
    from services.analytics.whatif import rules_name
    from services.local.api_link import post, running_api
    from services.settings import load_settings
    from services.warehouse import open_warehouse

    settings = load_settings()
    pol = _policy(policy or settings.sla_policy)
    scope = scope_options(tenant, start, end)
    when = _instant("--as-of", as_of)
    api = running_api(settings)
    if api is not None:  # the running API owns the warehouse: it runs the job
        body = {"policy": policy, "tenant": tenant, "from": start, "to": end, "as_of": as_of,
                "versions": versions}
        done = post(api, "/v1/jobs/backfill", body).json()
        typer.echo(f"backfill: {done['contacts']} contacts, {done['outcomes']} outcomes under "
                   f"{done['policy']} in {done['elapsed_s']:.1f} s (run by the API)")
        return
    warehouse = open_warehouse(settings)
    bar, on_total, update = _progress_bar("backfill")
    began = time.monotonic()
    try:
        rules = stored_rules(warehouse, pol) if versions else pol
        result = backfill(warehouse, rules, scope, evaluated_at=int(time.time() * 1000),
                          as_of=when, on_total=on_total, progress=update)
    finally:
        bar.close()
        warehouse.close()
    typer.echo(f"backfill: {result.contacts} contacts, {result.outcomes} outcomes under "
               f"{rules_name(rules, tenant)} in {time.monotonic() - began:.1f} s")


def whatif_command(
    policy: Annotated[str, typer.Option("--policy", "-p", help="The candidate policy: preset or "
                                        "TOML file (e.g. phone target 30 s).")],
    start: FromOpt = None,
    end: ToOpt = None,
    tenant: TenantOpt = None,
    actual: Annotated[str | None, typer.Option(help="The policy in force (default: "
                                               "KONTAKT_SLA_POLICY).")] = None,
    by: Annotated[str, typer.Option(help="Comma-separated grouping: channel, region, office, "
                                    "customer_category, kind, tenant.")] = "",
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Re-evaluate the stored history under another policy; print it next to the actual."""
    import orjson

    from services.analytics.policy_rules import stored_rules
    from services.analytics.whatif import run_whatif, sentences
    from services.settings import load_settings
    from services.warehouse import open_warehouse
    from streams.sla.metrics import check_group_by

    if output_format not in ("table", "json"):
        raise UserError(f"--format {output_format!r}: use table or json")
    try:
        group_by = check_group_by([g.strip() for g in by.split(",") if g.strip()])
    except ValueError as exc:
        raise UserError(f"--by: {exc}") from None
    settings = load_settings()
    candidate, current = _policy(policy), _policy(actual or settings.sla_policy)
    scope = scope_options(tenant, start, end)
    warehouse = open_warehouse(settings)
    bar, on_total, update = _progress_bar("what-if")
    try:
        # without --actual: what judged them, the tenants' versions over the setting
        judged = current if actual else stored_rules(warehouse, current)
        result = run_whatif(warehouse, judged, candidate, scope, group_by=group_by,
                            on_total=on_total, progress=update)
    finally:
        bar.close()
        warehouse.close()
    if output_format == "json":
        typer.echo(orjson.dumps({"contacts": result.contacts, "rows": result.rows},
                                option=orjson.OPT_INDENT_2).decode())
        return
    from services.cli.sla import _table

    typer.echo(f"{result.contacts} contacts; actual = {current.name}, what-if = "
               f"{candidate.name}")
    for line in _table(result.rows):
        typer.echo(line)
    for line in sentences(result.rows, group_by):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """`sink` and `backfill` at the top level; `whatif` inside the `sla` group."""
    from services.cli.sla import sla_app

    for group, name, command in ((app, "sink", sink_command),
                                 (app, "backfill", backfill_command),
                                 (sla_app, "whatif", whatif_command)):
        if not any(c.name == name for c in group.registered_commands):
            group.command(name=name)(command)
