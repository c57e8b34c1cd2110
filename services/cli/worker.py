"""`kontakt worker`: run the Faust stream worker (SLA clocks, alerts, live metrics, storms).

Settings come from the environment (KONTAKT_*), so a supervisor or a test starts it with the
broker, topic prefix and app id it wants. SIGTERM or Ctrl-C stop it gracefully: faust stops the
agents, flushes the producer and commits the processed offsets; a SIGKILL loses nothing either,
it only re-processes the uncommitted tail (alerts carry deterministic ids).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import Annotated

import typer

from services.errors import UserError
from services.readiness import JOINING, Beacon, prune, status_dir


def run_worker(loglevel: str = "info", create_topics: bool = True) -> None:
    """Build the worker from the environment's settings and run it until stopped."""
    import faust

    from services.logs import configure_logging, logging_config
    from services.settings import load_settings
    from streams.app import create_worker
    from streams.gc_policy import set_young_threshold
    from streams.sla.policy import PolicyError

    settings = load_settings()
    configure_logging(settings.log_format, loglevel)
    set_young_threshold(settings.worker_gc_young)
    if settings.worker_event_loop == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")  # faust's `--loop uvloop`: the policy, before any loop exists
    if create_topics:
        _apply_topics(settings)
    try:
        worker = create_worker(settings)
    except PolicyError as exc:
        raise UserError(f"KONTAKT_SLA_POLICY: {exc}") from None
    worker.beacon = _beacon(settings.data_dir)
    from streams.policy_feed import attach

    try:
        attach(worker, settings)  # the tenants' policy versions: read now, followed live
    except (TimeoutError, OSError) as exc:
        raise UserError(f"cannot read the policy versions from {settings.kafka_bootstrap}: "
                        f"{exc}; start the broker (kontakt up) or set KONTAKT_KAFKA_BOOTSTRAP"
                        ) from None
    if settings.worker_metrics_port:
        from services.metrics.serve import serve_metrics
        from streams.metrics import WorkerMetrics

        worker.telemetry = WorkerMetrics()
        serve_metrics(settings.worker_metrics_port, settings.metrics_host, "worker")
    level = logging.getLevelName(loglevel.upper())

    @worker.app.task
    async def _root_log_level() -> None:
        # mode leaves the root logger at DEBUG (only its handler filters): every debug() of
        # aiokafka and faust then builds a LogRecord, a measurable share of the CPU.
        logging.getLogger().setLevel(level)

    try:
        faust.Worker(
            worker.app, loglevel=loglevel, quiet=True,
            logging_config=logging_config(settings.log_format, loglevel),
        ).execute_from_commandline()
    finally:
        worker.beacon.close()  # also on a crash of the app: its state is no longer true


def _beacon(data_dir: Path) -> Beacon:
    """This process's readiness reports (services.readiness), after removing the files that
    workers which are gone left behind."""
    directory = status_dir(data_dir)
    host, now = socket.gethostname(), time.time()
    if directory.exists():
        prune(directory, now, host)
    beacon = Beacon(directory, host, os.getpid(), now)
    beacon.observe(now, JOINING, 0)  # the process runs: starting, before faust does
    return beacon


def _apply_topics(settings: object) -> None:
    """Create missing topics of deploy/topics.toml (idempotent), so a bare `kontakt worker`
    against a fresh broker works; `kontakt up` does the same before starting it."""
    from services.topics import apply_topics

    try:
        for line in apply_topics(settings):  # type: ignore[arg-type]
            logging.getLogger("services.topics").info("topics: %s", line)
    except Exception as exc:  # broker down, bad bootstrap: tell the user what to do
        raise UserError(
            f"cannot create the topics on {getattr(settings, 'kafka_bootstrap', '?')}: {exc}; "
            "start the broker (kontakt up) or set KONTAKT_KAFKA_BOOTSTRAP"
        ) from None


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker_cmd(
        loglevel: Annotated[
            str, typer.Option("--loglevel", "-l", help="debug, info, warning or error.")
        ] = "info",
        create_topics: Annotated[
            bool,
            typer.Option(
                "--create-topics/--no-create-topics",
                help="Create missing topics of deploy/topics.toml before starting.",
            ),
        ] = True,
    ) -> None:
        """Run the stream worker: SLA clocks, alerts, outcomes, live metrics, outage storms.

        Configured by KONTAKT_* environment variables (see docs/streams.md); stops gracefully
        on SIGTERM or Ctrl-C.
        """
        run_worker(loglevel=loglevel, create_topics=create_topics)
