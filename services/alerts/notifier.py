"""`kontakt notifier`: reads the alerts topic and sends what the rules ask for.

Exactly one delivery per (alert id, rule, channel): the ledger (SQLite under data_dir) records
each attempt's outcome before the consumer commits its offset, so a redelivered or re-emitted
alert (alert ids are deterministic) is recognised and skipped, also across restarts. Alerts in
a rule's quiet hours are recorded as "quiet" and not sent later. Failed deliveries (retries
exhausted) are recorded as "failed" and not retried again: the board still shows the alert.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.codec import DecodeError, decode
from schemas.events import format_timestamp
from services.alerts.delivery import Backoff, Delivered, send_email, send_webhook
from services.alerts.rules import Alert, Rule, RuleSet, alert_of, decide
from streams.sla.regions import region_name

log = logging.getLogger(__name__)


class Ledger:
    """Which (alert, rule, channel) was already handled, and how."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS deliveries (alert_id TEXT, rule TEXT, channel TEXT,"
            " status TEXT, attempts INTEGER, detail TEXT, at INTEGER,"
            " PRIMARY KEY (alert_id, rule, channel))")
        self._db.commit()

    def seen(self, alert_id: str, rule: str, channel: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM deliveries WHERE alert_id=? AND rule=? AND channel=?",
                (alert_id, rule, channel)).fetchone()
        return row is not None

    def record(self, alert_id: str, rule: str, channel: str, status: str, attempts: int,
               detail: str, at: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO deliveries VALUES (?,?,?,?,?,?,?)",
                             (alert_id, rule, channel, status, attempts, detail, at))
            self._db.commit()

    def rows(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute("SELECT * FROM deliveries ORDER BY at").fetchall()

    def close(self) -> None:
        self._db.close()


def payload(alert: Alert, rule: Rule) -> dict[str, Any]:
    d = alert.datum
    return {
        "alert_id": alert.alert_id, "alert": alert.kind, "severity": alert.severity,
        "rule": rule.name, "tenant": alert.tenant, "region": alert.region,
        "region_name": region_name(alert.region), "channel": alert.channel,
        "milestone": alert.milestone,
        "contact_id": d.get("contact_id"), "due_at": d.get("due_at"),
        "raised_at": d.get("raised_at"), "text": summary(alert), "record": dict(d),
    }


def _region(region: str) -> str:
    """The region as people read it, in both languages of the text ("Тверская область /
    Tver Oblast"); an unknown region as its id."""
    ru, en = region_name(region, "ru"), region_name(region, "en")
    return ru if ru == en else f"{ru} / {en}"


def summary(alert: Alert) -> str:
    d = alert.datum
    if alert.kind == "outage_storm":
        whose = f" ({alert.tenant})" if alert.tenant else ""
        return (f"Всплеск звонков в регионе {_region(alert.region)}{whose}: {d['count']} за "
                f"окно при норме {d['baseline']:.0f} — возможна авария / contact surge, "
                "possible outage")
    what = {"breached": "Нарушение норматива / SLA breach",
            "warning": f"Предупреждение {round((d.get('threshold') or 0) * 100)}% / warning"}
    due = format_timestamp(d["due_at"]) if d.get("due_at") else "—"
    return (f"{what.get(alert.kind, alert.kind)}: {alert.milestone}, обращение "
            f"{d.get('contact_id')}, {_region(alert.region)}, {alert.channel}, срок/due {due}")


@dataclass
class Notifier:
    rules: RuleSet
    ledger: Ledger
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], None] = time.sleep

    def handle(self, value: bytes | None, now_ms: int) -> list[tuple[str, str, str]]:
        """Act on one alerts-topic record; returns (rule, channel, status) for each action."""
        if not value:
            return []
        try:
            alert = alert_of(*decode(value))
        except (DecodeError, KeyError):
            return []
        if alert is None:
            return []
        done = []
        for rule in self.rules.rules:
            verdict = decide(rule, alert, now_ms)
            if verdict is None:
                continue
            channels = (["webhook"] if rule.webhook else []) + (["email"] if rule.email else [])
            for channel in channels:
                if self.ledger.seen(alert.alert_id, rule.name, channel):
                    continue
                result = (Delivered(False, 0, "quiet hours") if verdict == "quiet"
                          else self._send(rule, channel, alert))
                status = "quiet" if verdict == "quiet" else ("sent" if result.ok else "failed")
                self.ledger.record(alert.alert_id, rule.name, channel, status, result.attempts,
                                   result.detail, now_ms)
                if status == "failed":
                    log.warning("notify %s via %s failed: %s", alert.alert_id, channel,
                                result.detail)
                done.append((rule.name, channel, status))
        return done

    def _send(self, rule: Rule, channel: str, alert: Alert) -> Delivered:
        if channel == "webhook":
            assert rule.webhook is not None
            return send_webhook(rule.webhook, rule.secret, alert.alert_id, payload(alert, rule),
                                backoff=self.backoff, sleep=self.sleep)
        subject = f"[Kontakt] {alert.severity}: {summary(alert)}"[:200]
        return send_email(self.rules.smtp, rule.email, subject, summary(alert),
                          alert_id=alert.alert_id, sleep=self.sleep,
                          backoff=Backoff(min(self.backoff.attempts, 4), self.backoff.base_s,
                                          self.backoff.max_s))


def run(notifier: Notifier, bootstrap: str, topic: str, group: str, stop: threading.Event,
        *, offset_reset: str = "latest") -> None:
    """Consume the alerts topic in a consumer group, committing after each handled batch. A new
    group starts at the end of the topic (no flood of last week's alerts on first start)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset=offset_reset)
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    notifier.handle(record.value, int(time.time() * 1000))
            if batches:
                consumer.commit()
    finally:
        consumer.close()
