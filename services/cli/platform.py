"""`kontakt up|down|status|setup|api|demo`: the local platform as one thing to start and stop."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from services.errors import UserError
from services.local.supervisor import Component, ProcessSupervisor, kontakt_argv
from services.readiness import STARTING_DETAIL
from services.settings import Settings, load_settings


def _wait_ready(
    settings: Settings, timeout_s: float, supervisor: ProcessSupervisor, names: list[str]
) -> dict[str, object]:
    """Poll /health/ready until it answers 200: the API and its backends up, and every worker
    holding its partitions with its deadline timer running (services.readiness). A component
    that exits meanwhile ends the wait at once, with the last line of its log."""
    import httpx

    url = f"http://{settings.api_host}:{settings.api_port}/health/ready"
    deadline = time.monotonic() + timeout_s
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        for name in names:
            if supervisor.pid(name) is None:
                log = supervisor.log_path(name)
                lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
                said = lines[-1].strip() if lines else "nothing"
                raise UserError(f"{name} exited while starting; its log {log} ends: {said}")
        try:
            response = httpx.get(url, timeout=3)
            last = response.json()
            if response.status_code == 200:
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise UserError(not_ready_message(last, timeout_s, settings.data_dir / "logs"))


def not_ready_message(last: dict[str, Any], timeout_s: float, logs: Path) -> str:
    """What `kontakt up` says when /health/ready did not answer 200 in time, in plain words:
    the API itself not healthy, or the worker still starting (or stalled, or missing)."""
    components = last.get("components") or {}
    api = components.get("api") or {}
    worker = components.get("worker") or {}
    if api.get("status") != "ok":
        shown = {k: last[k] for k in ("kafka", "clickhouse") if k in last} or "no answer"
        return (f"the API did not report healthy within {timeout_s:.0f} s (last: {shown}); "
                f"see {logs}")
    processes = ", ".join(
        f"{p['name']} {p['phase']} for {p['in_phase_s']} s" for p in worker.get("processes", [])
    )
    # up started the worker: not reporting yet is starting too (it is still importing)
    stalled = worker.get("status") == "stalled"
    head = worker["detail"] if stalled else f"worker still starting ({STARTING_DETAIL})"
    return (f"{head} after {timeout_s:.0f} s"
            f"{f' ({processes})' if processes else ''}; the platform runs, `kontakt status` "
            f"and {logs / 'worker.log'} show more")


def components(settings: Settings) -> list[Component]:
    """The long-lived processes of the local platform, in start order."""
    return [
        # One consumer group: the worker processes share the partitions (and the state dir:
        # each partition has its own RocksDB database, opened by whichever process owns it).
        *(Component("worker" if n == 1 else f"worker-{n}", kontakt_argv("worker"),
                    worker_metrics_env(settings, n))
          for n in range(1, settings.worker_processes + 1)),
        # Embedded chdb allows one process per warehouse directory: the API process also runs
        # the sink there (see `kontakt api --help`).
        Component("api", kontakt_argv("api")),
        # Webhook/email notifications, only when a rules file is configured (docs/board.md).
        *([Component("notifier", kontakt_argv("notifier"))] if settings.notify_rules else []),
    ]


def worker_metrics_port(settings: Settings, n: int) -> int:
    """The /metrics port of worker ``n`` (1, 2, ...): KONTAKT_WORKER_METRICS_PORT + n - 1, or
    0 when the workers' metrics are off."""
    base = settings.worker_metrics_port
    return base + n - 1 if base else 0


def worker_metrics_env(settings: Settings, n: int) -> dict[str, str]:
    return {"KONTAKT_WORKER_METRICS_PORT": str(worker_metrics_port(settings, n))}


def to_start(parts: list[Component], running: Mapping[str, int]) -> list[Component]:
    """What `kontakt up` starts: the components without a live process (their pid files, see
    ProcessSupervisor.running), in start order. One that runs is left alone, pid and all."""
    return [c for c in parts if c.name not in running]


def warehouse_holder(settings: Settings, running: Mapping[str, int]) -> tuple[str, int] | None:
    """The running component that holds the embedded chdb warehouse, with its pid, or None.

    chdb locks its directory to one process, and the API is that process (it also runs the
    sink there: services/api/lifespan.py). While it runs nothing else can open the warehouse,
    `kontakt up`'s migrations included. With a ClickHouse server (KONTAKT_CLICKHOUSE_URL)
    nothing holds it: None."""
    from services.sink.service import is_embedded

    pid = running.get("api")
    return ("api", pid) if pid is not None and is_embedded(settings) else None


def setup(settings: Settings) -> None:
    """Create the topics and apply the migrations (idempotent)."""
    _apply_topics(settings)
    _apply_migrations(settings)


def _apply_topics(settings: Settings) -> None:
    from services.topics import apply_topics

    for outcome in apply_topics(settings):
        typer.echo(f"topics: {outcome}")


def _apply_migrations(settings: Settings) -> None:
    from services.migrate import apply_migrations
    from services.warehouse import open_warehouse

    warehouse = open_warehouse(settings)
    try:
        for line in apply_migrations(warehouse, settings):
            typer.echo(f"migrate: {line}")
    finally:
        warehouse.close()


def up(settings: Settings, health_timeout_s: float = 90.0) -> None:
    """Start whatever of the platform is missing; what already runs is left alone (issue 19:
    after a crashed worker, `up` starts the worker again beside the running API)."""
    from services.local.kafka import LocalBroker

    broker = LocalBroker(settings)
    if not broker.is_running():
        typer.echo(f"kafka: starting on 127.0.0.1:{settings.kafka_port} (log {broker.log_path})")
        broker.start(timeout_s=60)
    else:
        typer.echo("kafka: already running")
    supervisor = ProcessSupervisor(settings.data_dir)
    parts = components(settings)
    running = supervisor.running()
    _apply_topics(settings)  # through the broker: idempotent, whatever runs
    holder = warehouse_holder(settings, running)
    if holder is None:
        _apply_migrations(settings)
    else:
        # Skipped, not failed: the holder's own `up` migrated the warehouse before starting it
        # (this function, below), and it keeps running the code those migrations were for.
        # Newer migration files need the warehouse free: `kontakt down`, then `kontakt up`.
        name, pid = holder
        typer.echo(f"migrate: skipped, the chdb warehouse is held by the running {name} "
                   f"(pid {pid}), migrated by the `kontakt up` that started it")
    started = time.monotonic()
    missing = {c.name for c in to_start(parts, running)}
    for component in parts:
        if component.name in missing:
            pid = supervisor.start(component)
            typer.echo(f"{component.name}: started, pid {pid}, "
                       f"log {supervisor.log_path(component.name)}")
        else:
            typer.echo(f"{component.name}: already running, pid {running[component.name]}")
    typer.echo("up: waiting for the API and the worker (joining group / recovering)")
    report = _wait_ready(settings, health_timeout_s, supervisor, [c.name for c in parts])
    worker = cast(dict[str, Any], cast(dict[str, Any], report["components"])["worker"])
    processes = worker["processes"]
    who = "worker holds" if len(processes) == 1 else f"{len(processes)} workers hold"
    typer.echo(f"up: ready {time.monotonic() - started:.1f} s after start: {who} "
               f"{sum(p['partitions'] for p in processes)} partitions, deadline timer ticked "
               f"{worker['last_tick_s_ago']} s ago")
    base = f"http://{settings.api_host}:{settings.api_port}"
    typer.echo(f"up: board {base}/board  API docs {base}/docs  health {base}/health "
               f"(ready: {base}/health/ready)")


def down(settings: Settings) -> None:
    from services.local.kafka import LocalBroker

    supervisor = ProcessSupervisor(settings.data_dir)
    for component in reversed(components(settings)):
        if supervisor.stop(component.name):
            typer.echo(f"{component.name}: stopped")
    for name in supervisor.running():  # anything else left from an earlier `up`
        supervisor.stop(name)
        typer.echo(f"{name}: stopped")
    broker = LocalBroker(settings)
    if broker.is_running():
        broker.stop()
        typer.echo("kafka: stopped")


def demo_key(settings: Settings, tenant: str) -> str:
    """A fresh read+ingest key for the demo tenant (keys are shown once, so make a new one)."""
    from services.auth import KeyStore, Scope, TenantType, key_store_path

    store = KeyStore(key_store_path(settings.data_dir))
    known = store.tenants().get(tenant)
    _, clear = store.create(
        tenant,
        [Scope.READ, Scope.INGEST],
        tenant_type=None if known else TenantType.GRID,
        now_ms=int(time.time() * 1000),
        label="demo",
    )
    return clear


def demo(settings: Settings, seed: int, outage_region: str, outage_at: float) -> None:
    """`kontakt up`, then the simulator in real time until Ctrl-C, then `kontakt down`."""
    import signal
    import subprocess

    def _stop(*_: object) -> None:
        raise KeyboardInterrupt

    # Our own handlers for both: a shell running us in the background, or a CI job, may have
    # set SIGINT to "ignore", which a child inherits, and then Ctrl-C would never stop the demo.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    simulator: subprocess.Popen[bytes] | None = None
    try:
        up(settings)  # inside the try: a failed or interrupted start is taken down too
        key = demo_key(settings, "mrsk-center")
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(
            f"demo: open {base}/board and log in with the read key {key}\n"
            f"demo: API docs at {base}/docs; an outage storm hits {outage_region} "
            f"{outage_at:g} min from now. Ctrl-C stops everything."
        )
        simulator = subprocess.Popen(
            kontakt_argv(
                "simulate", "--realtime", "--to", "kafka", "--seed", str(seed),
                "--days", "1", "--outage-region", outage_region, "--outage-at", str(outage_at),
                # Twenty times the usual load: the storm rule is per tenant (10-minute window),
                # so the demo tenant's calls alone reach its threshold within about two and a
                # half minutes and the board shows the banner inside the demo's first five.
                "--outage-factor", "20",
                "--no-progress",
            )
        )
        code = simulator.wait()
        if code != 0:
            raise UserError(f"the simulator exited with code {code}; see the output above")
    except KeyboardInterrupt:
        typer.echo("demo: stopping")
    finally:
        if simulator is not None and simulator.poll() is None:
            simulator.terminate()
            simulator.wait(timeout=10)
        down(settings)


def settings_table(settings: Settings) -> str:
    """The README's configuration table: every setting, its variable, default and meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default if name != "kafka_bootstrap" else ""
        if isinstance(default, bool):
            default = str(default).lower()  # what one writes in the variable: true / false
        shown = f"`{default}`" if default not in ("", None) else "(empty)"
        if name == "cache_dir":
            shown = "`~/.cache/kontakt`"
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `KONTAKT_{name.upper()}` | {shown} | {description} |")
    return "\n".join(rows)


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config_command(
        markdown: Annotated[bool, typer.Option(help="Print the README's table.")] = False,
    ) -> None:
        """Show the settings this process would use (from KONTAKT_* variables)."""
        settings = load_settings()
        if markdown:
            typer.echo(settings_table(settings))
            return
        for name in Settings.model_fields:
            typer.echo(f"KONTAKT_{name.upper()}={getattr(settings, name)}")

    @app.command("demo")
    def demo_command(
        seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
        outage_region: Annotated[str, typer.Option(help="Region hit by the storm.")] = "voronezh",
        outage_at: Annotated[float, typer.Option(help="Minutes until the storm.")] = 1.0,
    ) -> None:
        """Run the platform with a simulated utility feed in real time (Ctrl-C stops all)."""
        demo(load_settings(), seed, outage_region, outage_at)

    @app.command("up")
    def up_command(
        health_timeout: Annotated[float, typer.Option(
            help="Seconds to wait for /health/ready: the API up and the worker holding its "
            "partitions.")] = 90,
    ) -> None:
        """Start the local platform: broker, topics, migrations, worker, sink and API; return
        once the worker holds its partitions and its deadline timer runs. Components that
        already run are left alone: after a crash, `up` starts only what is missing."""
        up(load_settings(), health_timeout)

    @app.command("down")
    def down_command() -> None:
        """Stop everything `kontakt up` started; leaves no process behind."""
        down(load_settings())

    @app.command("status")
    def status_command() -> None:
        """One table of the running platform: each process's health, consumer lag, last
        batch and the warehouse's freshness. Exit 1 when nothing runs."""
        from services.cli.status import collect, render
        from services.local.kafka import LocalBroker

        settings = load_settings()
        rows = collect(settings)
        broker = "running" if LocalBroker(settings).is_running() else "stopped"
        if not rows:
            typer.echo(f"kafka: {broker}; nothing of the platform runs (no API answers on "
                       f"{settings.api_host}:{settings.api_port}, no worker reports in "
                       f"{settings.data_dir}); start it with `kontakt up`", err=True)
            raise typer.Exit(1)
        typer.echo(f"kafka (local broker): {broker}")
        typer.echo(render(rows))

    @app.command("setup")
    def setup_command() -> None:
        """Create the Kafka topics and apply the ClickHouse migrations, then exit."""
        setup(load_settings())

    @app.command("api")
    def api_command() -> None:
        """Serve the HTTP API (ingest, reports, board) with uvicorn."""
        import uvicorn

        from services.api.app import create_app
        from services.logs import configure_logging, logging_config

        settings = load_settings()
        configure_logging(settings.log_format)
        uvicorn.run(
            create_app(settings), host=settings.api_host, port=settings.api_port,
            log_level="info", log_config=logging_config(settings.log_format),
        )
