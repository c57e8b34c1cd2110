"""`kontakt notifier`: reads the alerts topic and sends what the rules ask for.

Exactly one delivery per (alert id, rule, channel): the ledger (SQLite under data_dir) records
each attempt's outcome before the consumer commits its offset, so a redelivered or re-emitted
alert (alert ids are deterministic) is recognised and skipped, also across restarts. Alerts in
a rule's quiet hours are recorded as "quiet" and not sent later. Failed deliveries (retries
exhausted) are recorded as "failed" and not retried again: the board still shows the alert.

A retracted breach (SlaAlertRetracted) is corrected where it was sent, and nowhere else: every
(rule, channel) the ledger shows as "sent" for the breach's alert id gets a correction, recorded
under the retraction_id, so it too goes out once. A correction ignores quiet hours (whoever got
the breach should learn it was withdrawn) and rule filters (the breach already passed them).
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
from schemas.units import MINUTE_MS
from services.alerts.delivery import Backoff, Delivered, send_email, send_webhook
from services.alerts.rules import (
    Alert,
    Retraction,
    Rule,
    RuleSet,
    alert_of,
    decide,
    retraction_of,
)
from services.logs import log_ids
from services.metrics import notifier as metrics
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

    def sent(self, alert_id: str) -> list[tuple[str, str]]:
        """(rule, channel) pairs that were sent this alert."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule, channel FROM deliveries WHERE alert_id=? AND status='sent'"
                " ORDER BY rule, channel", (alert_id,)).fetchall()
        return [(str(rule), str(channel)) for rule, channel in rows]

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
    if alert.kind == "appeal":
        waited = round(d["wait_ms"] / MINUTE_MS)
        state = "решено / resolved" if d["resolved"] else "открыто / open"
        return (f"Повторные обращения / repeat contacts: обращение {d['appeal_id']}, "
                f"{len(d['contact_ids'])} контакт(а) / contacts, ожидание клиента / customer "
                f"wait {waited} мин/min, {_region(alert.region)}, {state}")
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


_OUTCOME = {"met": "норматив выполнен / met within target",
            "cancelled": "отменено в срок / cancelled within target"}


def correction_summary(r: Retraction) -> str:
    d = r.datum
    due = format_timestamp(d["due_at"]) if d.get("due_at") else "—"
    outcome = _OUTCOME.get(d["status"], d["status"])
    return (f"Отмена: нарушение норматива отозвано / Correction: SLA breach retracted: "
            f"{r.milestone}, обращение {d.get('contact_id')}, {_region(r.region)}, {r.channel}, "
            f"срок/due {due} — {outcome} ({d.get('reason')})")


def correction_payload(r: Retraction, rule: Rule) -> dict[str, Any]:
    """Like :func:`payload`, for the breach ``alert_id`` with ``alert`` = "retracted"."""
    d = r.datum
    return {
        "alert_id": r.alert_id, "alert": "retracted", "retraction_id": r.retraction_id,
        "severity": "info", "rule": rule.name, "tenant": r.tenant, "region": r.region,
        "region_name": region_name(r.region), "channel": r.channel, "milestone": r.milestone,
        "contact_id": d.get("contact_id"), "due_at": d.get("due_at"), "status": d["status"],
        "stopped_at": d.get("stopped_at"), "retracted_at": d.get("retracted_at"),
        "reason": d.get("reason"), "text": correction_summary(r), "record": dict(d),
    }


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
            name, datum = decode(value)
            retraction = retraction_of(name, datum)
            alert = alert_of(name, datum)
        except (DecodeError, KeyError):
            return []
        if retraction is not None:
            with log_ids(alert_id=retraction.alert_id, tenant=retraction.tenant):
                return self._correct(retraction, now_ms)
        if alert is None:
            return []
        with log_ids(alert_id=alert.alert_id, tenant=alert.tenant):
            return self._notify(alert, now_ms)

    def _notify(self, alert: Alert, now_ms: int) -> list[tuple[str, str, str]]:
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

    def _correct(self, r: Retraction, now_ms: int) -> list[tuple[str, str, str]]:
        """Send the correction of a retracted breach to each (rule, channel) that got it."""
        rules = {rule.name: rule for rule in self.rules.rules}
        done = []
        for name, channel in self.ledger.sent(r.alert_id):
            if self.ledger.seen(r.retraction_id, name, channel):
                continue
            rule = rules.get(name)
            if rule is None or not (rule.webhook if channel == "webhook" else rule.email):
                log.warning("retraction %s: rule %s has no %s any more, not corrected",
                            r.retraction_id, name, channel)
                continue
            result = self._send_correction(rule, channel, r)
            status = "sent" if result.ok else "failed"
            self.ledger.record(r.retraction_id, name, channel, status, result.attempts,
                               result.detail, now_ms)
            if status == "failed":
                log.warning("correction %s via %s failed: %s", r.retraction_id, channel,
                            result.detail)
            done.append((name, channel, status))
        return done

    def _send_correction(self, rule: Rule, channel: str, r: Retraction) -> Delivered:
        """X-Kontakt-Alert-Id is the retraction_id: a receiver de-duplicating on it must not
        drop the correction as a repeat of the breach; the body's alert_id is the breach's."""
        if channel == "webhook":
            assert rule.webhook is not None
            return send_webhook(rule.webhook, rule.secret, r.retraction_id,
                                correction_payload(r, rule), backoff=self.backoff,
                                sleep=self.sleep)
        text = correction_summary(r)
        return send_email(self.rules.smtp, rule.email, f"[Kontakt] {text}"[:200], text,
                          alert_id=r.retraction_id, sleep=self.sleep,
                          backoff=Backoff(min(self.backoff.attempts, 4), self.backoff.base_s,
                                          self.backoff.max_s))

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


def run(notifier: Notifier, bootstrap: str, topic: str | list[str], group: str,
        stop: threading.Event, *, offset_reset: str = "latest") -> None:
    """Consume the alerts topic (and the appeals topic when a rule is about appeals) in a
    consumer group, committing after each handled batch. A new group starts at the end of the
    topic (no flood of last week's alerts on first start)."""
    from kafka import KafkaConsumer

    topics = [topic] if isinstance(topic, str) else topic
    consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset=offset_reset)
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    metrics.count(notifier.handle(record.value, int(time.time() * 1000)))
            if batches:
                consumer.commit()
    finally:
        consumer.close()
