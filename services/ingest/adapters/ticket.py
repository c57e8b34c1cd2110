"""A generic office electronic-queue (электронная очередь) ticket webhook -> in-person events.

Typical terminals (ticket printers with a call display) post the ticket's life:
``ticket.created`` -> queued, ``ticket.called`` -> answered (the wait the 30-minute norm
measures ends here), ``ticket.completed`` -> resolved, ``ticket.no_show`` /
``ticket.cancelled`` -> abandoned. The ticket is the contact; the office is the queue's place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.ingest.adapters import AdapterError

TYPES = {
    "ticket.created": "queued",
    "ticket.called": "answered",
    "ticket.completed": "resolved",
    "ticket.no_show": "abandoned",
    "ticket.cancelled": "abandoned",
}
KINDS = {
    "outage": "outage",
    "complaint": "complaint",
    "connection": "connection",
    "service": "service_request",
    "inquiry": "inquiry",
}


def _text(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise AdapterError(0, f"{path}{key}", "required string is missing")
    return value.strip()


def map_webhook(payload: object, *, region: str) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise AdapterError(0, "$", "the webhook body must be a JSON object")
    name = _text(payload, "event", "")
    if name not in TYPES:
        raise AdapterError(
            0, "event", f"unknown ticket event {name!r}; expected one of " + ", ".join(TYPES)
        )
    ticket = payload.get("ticket")
    if not isinstance(ticket, Mapping):
        raise AdapterError(0, "ticket", "required object is missing")
    office = _text(ticket, "office_id", "ticket.")
    ticket_id = _text(ticket, "id", "ticket.")
    contact_id = f"tkt-{office}-{ticket_id}"
    out: dict[str, Any] = {
        "event_id": str(payload.get("delivery_id") or f"{contact_id}-{name}"),
        "contact_id": contact_id,
        "region": str(ticket.get("region") or region),
        "channel": "in_person",
        "type": TYPES[name],
        "occurred_at": _text(payload, "timestamp", ""),
        "office": office,
        "kind": KINDS.get(str(ticket.get("service_group", "")).lower(), "inquiry"),
    }
    if ticket.get("service"):
        out["queue"] = str(ticket["service"])
    operator = ticket.get("operator_id")
    if operator:
        out["agent"] = str(operator)
    attributes = {
        key: str(ticket[key])
        for key in ("number", "window", "priority")
        if ticket.get(key) not in (None, "")
    }
    if attributes:
        out["attributes"] = attributes
    if ticket.get("priority") in ("disabled", "veteran"):
        out["customer_category"] = ticket["priority"]
    client = ticket.get("client")
    if isinstance(client, Mapping):
        out["customer"] = {
            k: str(v) for k, v in client.items() if k in ("phone", "email", "name", "account") and v
        }
    return out
