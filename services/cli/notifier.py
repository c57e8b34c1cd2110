"""`kontakt notifier`: send alerts to webhooks and mailboxes by the rules file
(KONTAKT_NOTIFY_RULES)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from services.errors import UserError


def register(app: typer.Typer) -> None:
    @app.command("notifier")
    def notifier_cmd(
        check: Annotated[
            bool, typer.Option("--check", help="Only read and check the rules file, then exit.")
        ] = False,
    ) -> None:
        """Follow the alerts topic and notify by the rules file (webhook with HMAC, email);
        one delivery per alert id and rule, quiet hours respected. Stop with Ctrl-C."""
        from services.alerts.notifier import Ledger, Notifier, run
        from services.alerts.rules import load_rules
        from services.logs import configure_logging
        from services.settings import load_settings

        settings = load_settings()
        configure_logging(settings.log_format)
        if settings.notify_rules is None:
            raise UserError("no rules: set KONTAKT_NOTIFY_RULES to a rules TOML file "
                            "(see docs/board.md, Notifications)")
        rules = load_rules(settings.notify_rules)
        typer.echo(f"notifier: {len(rules.rules)} rule(s) from {settings.notify_rules}")
        if check:
            return
        from services.metrics.serve import serve_metrics

        serve_metrics(settings.notifier_metrics_port, settings.metrics_host, "notifier")
        ledger = Ledger(settings.data_dir / "notifier.sqlite")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            topics = [settings.topic("alerts")]
            if any(rule.for_appeals for rule in rules.rules):
                topics.append(settings.topic("appeals"))
            run(Notifier(rules, ledger), settings.kafka_bootstrap, topics,
                settings.notify_group, stop)
        except KeyboardInterrupt:
            pass
        finally:
            ledger.close()
