"""`kontakt simulate`: seeded contact history (fast) or a live feed paced to the wall clock.

The CLI is the only place that reads the clock: the start instant and the outage instant are
computed here and handed to the pure generator.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from schemas.events import parse_timestamp
from schemas.units import DAY_MS, MINUTE_MS
from services.errors import UserError
from services.simulator.generate import generate
from services.simulator.model import TENANTS, SimConfig, Storm, random_storms
from services.simulator.sinks import (
    ApiSink,
    KafkaSink,
    NdjsonSink,
    Pacer,
    Sink,
    SinkError,
    pump,
)


class Target(StrEnum):
    NDJSON = "ndjson"
    KAFKA = "kafka"
    API = "api"


def _start_ms(start: str | None, days: float, realtime: bool) -> int:
    """--start, or now (live feed), or midnight UTC ``days`` days ago (history)."""
    if start:
        try:
            if "T" not in start.upper():
                day = date.fromisoformat(start)
                return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
            return parse_timestamp(start)
        except ValueError as exc:
            raise UserError(f"--start: {exc} (give 2026-10-01 or 2026-10-01T06:00:00Z)") from None
    now = datetime.now(UTC)
    if realtime:
        return int(now.timestamp() * 1000)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return int((midnight - timedelta(days=days)).timestamp() * 1000)


def _tenants(text: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in names if t not in TENANTS]
    if unknown or not names:
        raise UserError(f"--tenants: unknown {unknown or text!r}; choose from {', '.join(TENANTS)}")
    return names


def _api_sink(url: str | None, keys: list[str]) -> Sink:
    """One client per tenant key ("tenant=key"), or one key for every tenant."""
    from services.client import KontaktClient
    from services.settings import load_settings

    if not keys:
        raise UserError("--to api needs --api-key (or KONTAKT_API_KEY): 'tenant=key' or a key")
    settings = load_settings()
    base = url or f"http://{settings.api_host}:{settings.api_port}"
    clients: dict[str, KontaktClient] = {}
    default = None
    for entry in keys:
        tenant, sep, key = entry.partition("=")
        if sep and tenant in TENANTS:
            clients[tenant] = KontaktClient(base, key)
        else:
            default = KontaktClient(base, entry)
    return ApiSink(clients, default)


def _open_sink(target: Target, output: str, api_url: str | None, api_keys: list[str]) -> Sink:
    if target is Target.NDJSON:
        if output == "-":
            return NdjsonSink(sys.stdout.buffer)
        try:
            return NdjsonSink(Path(output).open("wb"), close_stream=True)
        except OSError as exc:
            raise UserError(f"--output: cannot write {output}: {exc.strerror}") from None
    if target is Target.API:
        return _api_sink(api_url, api_keys)
    from services.adapters.kafka_publisher import KafkaPublisher
    from services.settings import load_settings

    settings = load_settings()
    publisher = KafkaPublisher(settings.kafka_bootstrap, client_id="kontakt-simulate")
    return KafkaSink(publisher, settings.topic(settings.events_topic))


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        seed: Annotated[
            int, typer.Option(help="Seed: the same seed and options give byte-identical output.")
        ] = 1,
        start: Annotated[
            str | None,
            typer.Option(
                help="First simulated instant, RFC 3339 or a date (UTC). Default: now with "
                "--realtime, else midnight UTC DAYS days ago."
            ),
        ] = None,
        days: Annotated[
            float, typer.Option(min=0.0001, help="Simulated days (0.25 = 6 hours).")
        ] = 1.0,
        tenants: Annotated[
            str, typer.Option(help=f"Comma-separated tenants ({', '.join(TENANTS)}).")
        ] = ",".join(TENANTS),
        agents_per_queue: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="Phone agents per queue (tenant x region). Default: Erlang C staffing "
                "for the average daytime load.",
            ),
        ] = None,
        office_windows: Annotated[
            int | None,
            typer.Option(min=1, help="Service windows per office. Default: from the load."),
        ] = None,
        clerks: Annotated[
            int | None,
            typer.Option(
                min=1, help="Back-office clerks per tenant x region. Default: from the load."
            ),
        ] = None,
        load_factor: Annotated[
            float, typer.Option(min=0.001, help="Multiply every channel's volume.")
        ] = 1.0,
        to: Annotated[
            Target,
            typer.Option(
                help="ndjson (file/stdout), kafka (contact-events topic) or api (ingest API)."
            ),
        ] = Target.NDJSON,
        output: Annotated[str, typer.Option(help="NDJSON file, '-' for stdout.")] = "-",
        api_url: Annotated[
            str | None,
            typer.Option(help="With --to api: base URL (default http://API_HOST:API_PORT)."),
        ] = None,
        api_key: Annotated[
            list[str] | None,
            typer.Option(
                envvar="KONTAKT_API_KEY",
                help="With --to api: 'tenant=key' per tenant (repeat), or one key for all.",
            ),
        ] = None,
        realtime: Annotated[
            bool, typer.Option(help="Emit each event when the wall clock reaches it (demo).")
        ] = False,
        speed: Annotated[
            float,
            typer.Option(min=0.001, help="With --realtime: simulated seconds per wall second."),
        ] = 1.0,
        outage_region: Annotated[
            str | None, typer.Option(help="Region hit by an outage storm (with --outage-at).")
        ] = None,
        outage_at: Annotated[
            float, typer.Option(min=0, help="Minutes after the start when the storm begins.")
        ] = 2.0,
        outage_factor: Annotated[
            float, typer.Option(min=1, help="How many times the region's phone load jumps.")
        ] = 5.0,
        outage_minutes: Annotated[
            float, typer.Option(min=1, help="Storm duration in minutes.")
        ] = 60.0,
        random_storms_count: Annotated[
            int | None,
            typer.Option(
                "--random-storms",
                min=0,
                help="Seeded random storms over the range. Default: one per 7 simulated days.",
            ),
        ] = None,
        batch_size: Annotated[
            int, typer.Option(min=1, help="Events per write/publish batch.")
        ] = 1000,
        progress: Annotated[
            bool, typer.Option(help="Progress bar on stderr (history mode).")
        ] = True,
    ) -> None:
        """Generate a utility's contacts: every channel, queues with agents, storms.

        History: `kontakt simulate --seed 7 --start 2026-10-01 --days 30 --output oct.ndjson`.
        Demo: `kontakt simulate --realtime --to kafka --outage-region voronezh --outage-at 2`.
        """
        start_ms = _start_ms(start, days, realtime)
        names = _tenants(tenants)
        regions = tuple(dict.fromkeys(r for t in names for r in TENANTS[t].regions))
        storms = random_storms(
            seed,
            regions,
            start_ms,
            start_ms + round(days * DAY_MS),
            int(days // 7) if random_storms_count is None else random_storms_count,
        )
        if outage_region is not None:
            if outage_region not in regions:
                raise UserError(
                    f"--outage-region: {outage_region!r} is not served by "
                    f"{', '.join(names)}; choose from {', '.join(regions)}"
                )
            storm = Storm(
                outage_region,
                start_ms + round(outage_at * MINUTE_MS),
                round(outage_minutes * MINUTE_MS),
                outage_factor,
            )
            storms = (*storms, storm)
        config = SimConfig(
            seed=seed,
            start_ms=start_ms,
            days=days,
            tenants=names,
            agents_per_queue=agents_per_queue,
            office_windows=office_windows,
            clerks=clerks,
            storms=storms,
            load_factor=load_factor,
        )
        _run(
            config,
            _open_sink(to, output, api_url, api_key or []),
            realtime,
            speed,
            batch_size,
            progress,
        )


def _run(
    config: SimConfig, sink: Sink, realtime: bool, speed: float, batch_size: int, progress: bool
) -> None:
    from tqdm import tqdm

    began = time.perf_counter()
    hours = max(1, round(config.days * 24))
    bar = tqdm(
        total=hours,
        unit="h",
        desc="simulated",
        disable=realtime or not progress,
        file=sys.stderr,
        leave=False,
    )
    state = {"hours": 0}

    def on_hour(_: int) -> None:
        state["hours"] += 1
        if state["hours"] <= hours:
            bar.update(1)

    pacer = Pacer(config.start_ms, speed) if realtime else None
    try:
        count = pump(generate(config, on_hour), sink, batch_size, pacer)
    except KeyboardInterrupt:
        count = -1
    except SinkError as exc:
        raise UserError(f"simulate: the sink refused events: {exc}") from None
    finally:
        bar.close()
        sink.close()
    elapsed = time.perf_counter() - began
    if count < 0:
        typer.echo("simulate: stopped", err=True)
    else:
        typer.echo(
            f"simulate: {count} events in {elapsed:.1f} s "
            f"({count / max(elapsed, 1e-9):,.0f} events/s)",
            err=True,
        )
