"""Sending one notification: a signed JSON webhook or an email, each retried with backoff.

Webhook signature (the receiver checks it with :func:`verify`):
    X-Kontakt-Timestamp: <unix seconds>
    X-Kontakt-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-Kontakt-Alert-Id:  <alert id>  (the same on every retry: receivers may de-duplicate too)
Retried: connection errors, timeouts, 429 and 5xx. Not retried: other 4xx (the request is wrong
and will stay wrong). Backoff doubles from ``base_s`` up to ``max_s``.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import orjson

from services.alerts.rules import Smtp

SIGNATURE = "X-Kontakt-Signature"
TIMESTAMP = "X-Kontakt-Timestamp"
ALERT_ID = "X-Kontakt-Alert-Id"


@dataclass(frozen=True, slots=True)
class Backoff:
    attempts: int = 6
    base_s: float = 0.5
    max_s: float = 30.0

    def delays(self) -> list[float]:
        return [min(self.base_s * 2**i, self.max_s) for i in range(self.attempts - 1)]


@dataclass(frozen=True, slots=True)
class Delivered:
    ok: bool
    attempts: int
    detail: str


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now_s: int,
           tolerance_s: int = 300) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, reject stale ones."""
    try:
        timestamp = int(headers[TIMESTAMP])
    except (KeyError, ValueError):
        return False
    if abs(now_s - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), headers.get(SIGNATURE, ""))


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def send_webhook(
    url: str, secret: str, alert_id: str, payload: Mapping[str, Any], *,
    backoff: Backoff = Backoff(), timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep, client: httpx.Client | None = None,
) -> Delivered:
    """POST the payload, signed; retry transient failures; never raises for HTTP trouble."""
    body = orjson.dumps(payload)
    owned = client is None
    http = client or httpx.Client(timeout=timeout_s)
    delays = backoff.delays()
    detail = ""
    try:
        for attempt in range(1, backoff.attempts + 1):
            ts = int(time.time())
            headers = {"Content-Type": "application/json", TIMESTAMP: str(ts),
                       SIGNATURE: sign(secret, ts, body), ALERT_ID: alert_id,
                       "User-Agent": "kontakt-notifier"}
            try:
                res = http.post(url, content=body, headers=headers)
                if res.status_code < 300:
                    return Delivered(True, attempt, f"HTTP {res.status_code}")
                detail = f"HTTP {res.status_code}"
                if not _retryable(res.status_code):
                    return Delivered(False, attempt, detail + " (not retried)")
            except httpx.HTTPError as exc:
                detail = f"{type(exc).__name__}: {exc}"
            if attempt <= len(delays):
                sleep(delays[attempt - 1])
        return Delivered(False, backoff.attempts, detail)
    finally:
        if owned:
            http.close()


def send_email(
    smtp: Smtp, to: Sequence[str], subject: str, text: str, *, alert_id: str,
    backoff: Backoff = Backoff(attempts=4), sleep: Callable[[float], None] = time.sleep,
    timeout_s: float = 10.0,
) -> Delivered:
    """Send a plain-text email; retry connection problems and 4xx SMTP replies (temporary)."""
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["X-Kontakt-Alert-Id"] = alert_id
    msg.set_content(text)
    delays = backoff.delays()
    detail = ""
    for attempt in range(1, backoff.attempts + 1):
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout_s) as server:
                if smtp.starttls:
                    server.starttls()
                if smtp.username:
                    server.login(smtp.username, smtp.password or "")
                server.send_message(msg)
            return Delivered(True, attempt, "sent")
        except smtplib.SMTPResponseException as exc:
            detail = f"SMTP {exc.smtp_code} {exc.smtp_error!r}"
            if exc.smtp_code >= 500:
                return Delivered(False, attempt, detail + " (not retried)")
        except (OSError, smtplib.SMTPException) as exc:
            detail = f"{type(exc).__name__}: {exc}"
        if attempt <= len(delays):
            sleep(delays[attempt - 1])
    return Delivered(False, backoff.attempts, detail)
