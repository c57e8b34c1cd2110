"""`kontakt kafka start|stop|status` (the local broker) and `kontakt topics apply`."""

from __future__ import annotations

from typing import Annotated

import typer

from services.settings import load_settings


def register(app: typer.Typer) -> None:
    kafka = typer.Typer(
        help="The local Kafka broker (one KRaft node on 127.0.0.1, data under the data dir).",
        no_args_is_help=True,
    )
    topics = typer.Typer(help="Kafka topics declared in deploy/topics.toml.", no_args_is_help=True)
    app.add_typer(kafka, name="kafka")
    app.add_typer(topics, name="topics")

    @kafka.command("start")
    def start(
        timeout: Annotated[
            float, typer.Option(help="Seconds to wait for the broker to answer metadata.")
        ] = 60.0,
    ) -> None:
        """Start the local broker (formatting its storage the first time) and wait until ready.

        Ports: KONTAKT_KAFKA_PORT, KONTAKT_KAFKA_CONTROLLER_PORT; heap: KONTAKT_KAFKA_HEAP;
        jars: deploy/kafka/fetch.sh. Does nothing if the broker is already running.
        """
        import time

        from services.local.kafka import LocalBroker

        broker = LocalBroker(load_settings())
        if broker.is_running():
            typer.echo(f"kafka: already running on {broker.bootstrap} (pid {broker.status().pid})")
            return
        began = time.monotonic()
        broker.start(timeout_s=timeout)
        typer.echo(
            f"kafka: started on {broker.bootstrap} in {time.monotonic() - began:.1f} s "
            f"(pid {broker.status().pid}, log {broker.log_path})"
        )

    @kafka.command("stop")
    def stop(
        timeout: Annotated[
            float, typer.Option(help="Seconds to wait for a clean shutdown before SIGKILL.")
        ] = 20.0,
    ) -> None:
        """Stop the local broker: SIGTERM (clean shutdown), SIGKILL after --timeout seconds."""
        from services.local.kafka import LocalBroker

        broker = LocalBroker(load_settings())
        if not broker.is_running():
            typer.echo("kafka: not running")
            return
        broker.stop(timeout_s=timeout)
        typer.echo("kafka: stopped")

    @kafka.command("status")
    def status() -> None:
        """Say whether the local broker runs, with its pid, address, data and log paths.

        Exit code 0 when it runs, 1 when it does not (handy in scripts).
        """
        from services.local.kafka import LocalBroker

        state = LocalBroker(load_settings()).status()
        word = f"running (pid {state.pid})" if state.running else "stopped"
        typer.echo(f"kafka: {word} {state.bootstrap}  data {state.data_path}  log {state.log_path}")
        if not state.running:
            raise typer.Exit(1)

    @topics.command("apply")
    def apply() -> None:
        """Create the declared topics that are missing; report the existing ones unchanged.

        Full names are KONTAKT_TOPIC_PREFIX + the name in deploy/topics.toml, on the cluster at
        KONTAKT_KAFKA_BOOTSTRAP. Existing topics are never altered; differences are reported.
        """
        from services.topics import apply_topics

        for outcome in apply_topics(load_settings()):
            typer.echo(str(outcome))
