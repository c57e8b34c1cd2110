"""A web-form submission (the utility site's "обращение" / feedback form) -> received event.

The submission is the contact. Contact details in the form go into ``customer`` (so they
are pseudonymized); the free-text message is not carried, only its length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.ingest.adapters import AdapterError

KINDS = {
    "outage": "outage",
    "complaint": "complaint",
    "connection": "connection",
    "service_request": "service_request",
    "inquiry": "inquiry",
    "question": "inquiry",
    "no_power": "outage",
    "tech_connection": "connection",
}
CUSTOMER_FIELDS = {
    "name": "name",
    "full_name": "name",
    "fio": "name",
    "phone": "phone",
    "email": "email",
    "account": "account",
    "account_number": "account",
}


def map_submission(payload: object, *, region: str) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise AdapterError(0, "$", "the submission must be a JSON object")
    submission_id = payload.get("submission_id")
    if (
        not isinstance(submission_id, str | int)
        or isinstance(submission_id, bool)
        or not str(submission_id).strip()
    ):
        raise AdapterError(0, "submission_id", "required string is missing")
    submitted_at = payload.get("submitted_at")
    if not isinstance(submitted_at, str):
        raise AdapterError(0, "submitted_at", "required RFC 3339 timestamp is missing")
    fields = payload.get("fields")
    if not isinstance(fields, Mapping):
        raise AdapterError(0, "fields", "required object of form fields is missing")
    customer = {
        CUSTOMER_FIELDS[k]: str(v)
        for k, v in fields.items()
        if k in CUSTOMER_FIELDS and isinstance(v, str | int) and str(v).strip()
    }
    if not customer:
        raise AdapterError(0, "fields", "no contact detail (name, phone, email or account)")
    topic = str(fields.get("topic") or "").lower()
    message = fields.get("message")
    attributes = {"form_id": str(payload.get("form_id") or "default")}
    if isinstance(message, str):
        attributes["message_length"] = str(len(message))
    out: dict[str, Any] = {
        "event_id": f"web-{submission_id}",
        "contact_id": f"web-{submission_id}",
        "region": str(payload.get("region") or region),
        "channel": "web",
        "type": "received",
        "occurred_at": submitted_at,
        "kind": KINDS.get(topic, "inquiry"),
        "customer": customer,
        "attributes": attributes,
    }
    return out
