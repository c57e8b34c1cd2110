"""Notifications against real receivers: an HTTP server on a free port that checks the HMAC
signature like a customer's endpoint would, a local SMTP server (aiosmtpd), and the real broker
for "one delivery per alert id" through the alerts topic."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.codec import encode
from services.alerts.delivery import Backoff, send_webhook, verify
from services.alerts.notifier import Ledger, Notifier, run
from services.alerts.rules import Rule, RuleSet, Smtp
from services.logs import ContextFilter
from tests.fixtures.kafka import free_port

SECRET = "s3cret-for-tests"
T0 = 1_790_000_000_000


@dataclass
class Receiver:
    """A webhook endpoint answering with scripted statuses (then 200), verifying signatures."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes, bool]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            ok = verify(SECRET, headers, body, now_s=int(time.time()))
            rec.requests.append((headers, body, ok))
            status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status if ok else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


def breach(contact: str = "c1", raised_at: int = T0 + 40_000, **extra: Any) -> bytes:
    datum = {
        "alert_id": f"id-{contact}",
        "alert": "breached",
        "threshold": None,
        "contact_id": contact,
        "milestone": "phone.answer",
        "status": "breached",
        "started_at": T0,
        "due_at": T0 + 40_000,
        "stopped_at": None,
        "elapsed_ms": 40_000,
        "target_ms": 40_000,
        "raised_at": raised_at,
        "tenant": "mrsk-center",
        "region": "tver",
        "channel": "phone",
        "contact_kind": "inquiry",
        "customer_category": "standard",
        "office": None,
        **extra,
    }
    return encode("SlaAlertRaised", datum)


def retraction(contact: str = "c1", **extra: Any) -> bytes:
    """The worker's withdrawal of breach(contact): the answer was in time, read late."""
    datum = {
        "retraction_id": f"r-{contact}",
        "alert_id": f"id-{contact}",
        "contact_id": contact,
        "milestone": "phone.answer",
        "status": "met",
        "reason": "answered at T0+35s, read after the breach was raised",
        "started_at": T0,
        "due_at": T0 + 40_000,
        "stopped_at": T0 + 35_000,
        "elapsed_ms": 35_000,
        "target_ms": 40_000,
        "retracted_at": T0 + 90_000,
        "tenant": "mrsk-center",
        "region": "tver",
        "channel": "phone",
        "contact_kind": "inquiry",
        "customer_category": "standard",
        "office": None,
        **extra,
    }
    return encode("SlaAlertRetracted", datum)


FAST = Backoff(attempts=4, base_s=0.01, max_s=0.05)


def test_webhook_is_signed_and_retried_on_5xx(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    slept: list[float] = []
    result = send_webhook(
        receiver.url,
        SECRET,
        "a1",
        {"x": 1},
        backoff=FAST,
        sleep=lambda s: (slept.append(s), time.sleep(s)),
    )
    assert result.ok and result.attempts == 3
    assert slept == [0.01, 0.02]  # doubling backoff
    assert [ok for _, _, ok in receiver.requests] == [True, True, True]
    assert {h["X-Kontakt-Alert-Id"] for h, _, _ in receiver.requests} == {"a1"}
    assert orjson.loads(receiver.requests[-1][1]) == {"x": 1}


def test_webhook_gives_up_after_the_last_attempt_and_never_retries_4xx(receiver: Receiver) -> None:
    receiver.statuses = [502] * 10
    result = send_webhook(receiver.url, SECRET, "a2", {}, backoff=FAST, sleep=time.sleep)
    assert (result.ok, result.attempts, len(receiver.requests)) == (False, 4, 4)
    receiver.requests.clear()
    receiver.statuses = [422]
    result = send_webhook(receiver.url, SECRET, "a3", {}, backoff=FAST, sleep=time.sleep)
    assert (result.ok, len(receiver.requests)) == (False, 1)


def test_a_wrong_secret_does_not_verify(receiver: Receiver) -> None:
    result = send_webhook(receiver.url, "another-secret", "a4", {}, backoff=FAST)
    assert not result.ok and receiver.requests[0][2] is False  # 401 is a 4xx: not retried
    headers, body, _ = receiver.requests[0]
    assert verify("another-secret", headers, body, now_s=int(time.time()))
    assert not verify("another-secret", headers, body + b" ", now_s=int(time.time()))
    assert not verify("another-secret", headers, body, now_s=int(time.time()) + 3600)


def test_one_delivery_per_alert_id(receiver: Receiver, tmp_path: Path) -> None:
    rules = RuleSet((Rule("breaches", webhook=receiver.url, secret=SECRET),))
    notifier = Notifier(rules, Ledger(tmp_path / "ledger.sqlite"), backoff=FAST)
    assert notifier.handle(breach(), T0) == [("breaches", "webhook", "sent")]
    assert notifier.handle(breach(), T0) == []  # redelivered
    assert notifier.handle(breach(raised_at=T0 + 99_000), T0) == []  # re-emitted, same id
    # a restart keeps the ledger
    again = Notifier(rules, Ledger(tmp_path / "ledger.sqlite"), backoff=FAST)
    assert again.handle(breach(), T0) == []
    assert len(receiver.requests) == 1
    sent = orjson.loads(receiver.requests[0][1])
    assert (sent["alert_id"], sent["severity"], sent["rule"]) == ("id-c1", "critical", "breaches")


def test_a_failed_delivery_is_logged_with_its_alert_and_tenant(
    receiver: Receiver, tmp_path: Path
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(ContextFilter())  # as services.logs installs it: at emit time
    logger = logging.getLogger("services.alerts.notifier")
    logger.addHandler(handler)
    receiver.statuses = [422]
    rules = RuleSet((Rule("breaches", webhook=receiver.url, secret=SECRET),))
    notifier = Notifier(rules, Ledger(tmp_path / "ledger.sqlite"), backoff=FAST)
    try:
        assert notifier.handle(breach(), T0) == [("breaches", "webhook", "failed")]
        logger.warning("after the alert")
    finally:
        logger.removeHandler(handler)
    failed, after = records
    assert "failed" in failed.getMessage()
    assert (failed.alert_id, failed.tenant) == ("id-c1", "mrsk-center")  # type: ignore[attr-defined]
    assert not hasattr(after, "alert_id")  # the ids left with the alert


def test_a_retraction_is_corrected_once_where_the_breach_was_sent_and_nowhere_else(
    receiver: Receiver, tmp_path: Path
) -> None:
    from datetime import datetime
    from datetime import time as t
    from zoneinfo import ZoneInfo

    late = int(datetime(2026, 11, 27, 23, 30, tzinfo=ZoneInfo("Europe/Moscow")).timestamp() * 1000)
    rules = RuleSet(
        (
            Rule("leads", webhook=receiver.url, secret=SECRET),
            Rule("night", quiet_hours=(t(22, 0), t(7, 0)), webhook=receiver.url, secret=SECRET),
            Rule("kursk", regions=frozenset({"kursk"}), webhook=receiver.url, secret=SECRET),
            Rule("refused", webhook=receiver.url + "?refuse", secret=SECRET),
        )
    )
    notifier = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
    receiver.statuses = [200, 422]  # "leads" gets the breach, "refused" does not
    assert sorted(notifier.handle(breach(), late)) == [
        ("leads", "webhook", "sent"), ("night", "webhook", "quiet"),
        ("refused", "webhook", "failed")]
    # the correction goes out in quiet hours too, but only where the breach went
    assert notifier.handle(retraction(), late) == [("leads", "webhook", "sent")]
    assert notifier.handle(retraction(), late) == []  # redelivered
    again = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
    assert again.handle(retraction(), late) == []  # after a restart
    assert again.handle(retraction("c2"), late) == []  # a breach nobody was sent
    assert len(receiver.requests) == 3
    headers, body, ok = receiver.requests[-1]
    sent = orjson.loads(body)
    assert ok and headers["X-Kontakt-Alert-Id"] == "r-c1"  # not the breach's id: no de-dup
    assert (sent["alert_id"], sent["alert"], sent["retraction_id"], sent["status"]) == (
        "id-c1", "retracted", "r-c1", "met")
    assert sent["text"].startswith("Отмена: нарушение норматива отозвано / Correction")
    assert ("r-c1", "leads", "webhook", "sent") in [r[:4] for r in again.ledger.rows()]


def test_rules_filter_by_tenant_region_milestone_and_severity(
    receiver: Receiver, tmp_path: Path
) -> None:
    rules = RuleSet(
        (
            Rule("other-tenant", tenants=frozenset({"x"}), webhook=receiver.url, secret=SECRET),
            Rule("kursk", regions=frozenset({"kursk"}), webhook=receiver.url, secret=SECRET),
            Rule(
                "email-only",
                milestones=frozenset({"email.dispatch"}),
                webhook=receiver.url,
                secret=SECRET,
            ),
            Rule(
                "warnings", severities=frozenset({"warning"}), webhook=receiver.url, secret=SECRET
            ),
            Rule(
                "tver",
                tenants=frozenset({"mrsk-center"}),
                regions=frozenset({"tver"}),
                milestones=frozenset({"phone.answer"}),
                webhook=receiver.url,
                secret=SECRET,
            ),
        )
    )
    notifier = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
    assert notifier.handle(breach(), T0) == [("tver", "webhook", "sent")]


def test_quiet_hours_hold_back_all_but_allowed_severities(
    receiver: Receiver, tmp_path: Path
) -> None:
    from datetime import datetime
    from datetime import time as t
    from zoneinfo import ZoneInfo

    late = int(datetime(2026, 11, 27, 23, 30, tzinfo=ZoneInfo("Europe/Moscow")).timestamp() * 1000)
    night = (t(22, 0), t(7, 0))
    rules = RuleSet(
        (
            Rule("quiet", quiet_hours=night, webhook=receiver.url, secret=SECRET),
            Rule(
                "loud",
                quiet_hours=night,
                quiet_allow=frozenset({"critical"}),
                webhook=receiver.url,
                secret=SECRET,
            ),
            Rule("daytime", quiet_hours=(t(8, 0), t(20, 0)), webhook=receiver.url, secret=SECRET),
        )
    )
    notifier = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
    done = notifier.handle(breach(), late)
    assert sorted(done) == [
        ("daytime", "webhook", "sent"),
        ("loud", "webhook", "sent"),
        ("quiet", "webhook", "quiet"),
    ]
    assert len(receiver.requests) == 2


def test_email_through_a_local_smtp_server(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        rules = RuleSet(
            (Rule("mail", email=("lead@example.org",)),),
            Smtp(host="127.0.0.1", port=port, sender="kontakt@example.org"),
        )
        notifier = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
        assert notifier.handle(breach(), T0) == [("mail", "email", "sent")]
        assert notifier.handle(breach(), T0) == []
        assert notifier.handle(retraction(), T0) == [("mail", "email", "sent")]
    finally:
        controller.stop()
    assert len(received) == 2
    assert received[0].rcpt_tos == ["lead@example.org"]
    msg = message_from_bytes(received[0].content)
    assert msg["X-Kontakt-Alert-Id"] == "id-c1"
    assert "phone.answer" in msg.get_payload(decode=True).decode()
    correction = message_from_bytes(received[1].content, policy=policy.default)
    assert received[1].rcpt_tos == ["lead@example.org"]
    assert correction["X-Kontakt-Alert-Id"] == "r-c1"
    assert correction["Subject"].startswith("[Kontakt] Отмена: нарушение норматива отозвано")
    assert "норматив выполнен" in correction.get_body().get_content()  # type: ignore[union-attr]


def test_email_to_a_closed_port_fails_after_retries(tmp_path: Path) -> None:
    rules = RuleSet(
        (Rule("mail", email=("lead@example.org",)),), Smtp(host="127.0.0.1", port=free_port())
    )
    notifier = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
    assert notifier.handle(breach(), T0) == [("mail", "email", "failed")]
    assert notifier.ledger.rows()[0][3:5] == ("failed", 4)


@pytest.mark.kafka
def test_notifier_follows_the_alerts_topic_once_per_alert(
    receiver: Receiver, tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    from services.adapters.kafka_publisher import KafkaPublisher

    topic = new_topic(partitions=1)
    publisher = KafkaPublisher(kafka_bootstrap)
    try:
        publisher.publish(
            topic, [(b"c1", breach()), (b"c1", breach(raised_at=T0 + 1)), (b"c2", breach("c2"))]
        )
    finally:
        publisher.close()
    rules = RuleSet((Rule("all", webhook=receiver.url, secret=SECRET),))
    notifier = Notifier(rules, Ledger(tmp_path / "l.sqlite"), backoff=FAST)
    stop = threading.Event()
    thread = threading.Thread(
        target=run,
        args=(notifier, kafka_bootstrap, topic, "g-notify", stop),
        kwargs={"offset_reset": "earliest"},
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # room for a wrong third delivery
    finally:
        stop.set()
        thread.join(20)
    ids = sorted(orjson.loads(body)["alert_id"] for _, body, _ in receiver.requests)
    assert ids == ["id-c1", "id-c2"]
