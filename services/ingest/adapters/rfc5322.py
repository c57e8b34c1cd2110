"""An RFC 5322 message (headers only) arriving at a utility's mailbox -> a received event.

The thread is the contact: the first Message-ID in References (else In-Reply-To, else the
message's own Message-ID) identifies it, hashed because message ids contain host names and
sometimes addresses. The sender's address and display name become ``customer`` (so they are
pseudonymized); the subject is not carried (free text often holding names and account data).
Automatic messages (Auto-Submitted other than "no", bounces) are ignored.
"""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.parser import HeaderParser
from email.policy import default
from email.utils import parsedate_to_datetime
from typing import Any

from schemas.events import parse_timestamp
from services.ingest.adapters import AdapterError

_MSGID = re.compile(r"<[^<>\s]+>")


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:24]


def map_message(
    raw: str, *, region: str, kind: str | None, mailbox: str | None = None
) -> dict[str, Any] | None:
    """Header block (a whole message is fine; the body is ignored) -> event JSON or None."""
    headers = HeaderParser(policy=default).parsestr(raw, headersonly=True)
    message_id = str(headers.get("Message-ID", "")).strip()
    if not _MSGID.fullmatch(message_id):
        raise AdapterError(0, "Message-ID", "missing or not of the form <id@host>")
    auto = str(headers.get("Auto-Submitted", "no")).strip().lower()
    if auto != "no" or str(headers.get("Return-Path", "")).strip() == "<>":
        return None
    date = headers.get("Date")
    if date is None:
        raise AdapterError(0, "Date", "missing")
    try:
        when = parsedate_to_datetime(str(date))
    except (TypeError, ValueError):
        raise AdapterError(0, "Date", f"not an RFC 5322 date: {str(date)!r}") from None
    if when.tzinfo is None:
        raise AdapterError(0, "Date", "has no zone offset")
    thread = (
        _MSGID.findall(str(headers.get("References", "")))
        or _MSGID.findall(str(headers.get("In-Reply-To", "")))
        or [message_id]
    )[0]
    senders = getattr(headers.get("From"), "addresses", ())
    if not senders:
        raise AdapterError(0, "From", "missing or without an address")
    sender: Address = senders[0]
    customer = {"email": sender.addr_spec}
    if sender.display_name:
        customer["name"] = sender.display_name
    out: dict[str, Any] = {
        "event_id": f"mail-{_digest(message_id)}",
        "contact_id": f"mail-{_digest(thread)}",
        "region": region,
        "channel": "email",
        "type": "received",
        "occurred_at": when.isoformat(timespec="milliseconds"),
        "customer": customer,
        "attributes": {"reply": "true" if thread != message_id else "false"},
    }
    parse_timestamp(out["occurred_at"])  # isoformat with offset always parses; keep it honest
    if kind:
        out["kind"] = kind
    if mailbox:
        out["queue"] = mailbox
    return out
