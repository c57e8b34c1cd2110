"""JSON Schemas of the ingest request bodies, for the OpenAPI document (and so for
schemathesis). Validation itself is done by schemas.events.parse_event, which names every bad
field; these schemas only describe the contract, built from the same enums."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from schemas.events import MAX_STRING_LENGTH, Channel, CustomerCategory, EventType, Kind

_STR = {"type": "string", "minLength": 1, "maxLength": MAX_STRING_LENGTH}


def _enum(enum: type[StrEnum]) -> dict[str, Any]:
    return {"type": "string", "enum": [m.value for m in enum]}


EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ContactEventIn",
    "required": ["event_id", "contact_id", "region", "channel", "type", "occurred_at"],
    "properties": {
        "event_id": {
            **_STR,
            "description": "Sender-chosen id; a retry with it is not re-produced.",
        },
        "contact_id": {**_STR, "description": "The appeal; Kafka key."},
        "tenant": {**_STR, "description": "Defaults to the API key's tenant; must equal it."},
        "region": _STR,
        "channel": _enum(Channel),
        "type": _enum(EventType),
        "occurred_at": {
            "type": "string",
            "format": "date-time",
            "example": "2026-11-27T09:15:00.000Z",
        },
        "kind": _enum(Kind),
        "customer_category": _enum(CustomerCategory),
        "office": _STR,
        "agent": _STR,
        "queue": _STR,
        "topic": _STR,
        "related_to": _STR,
        "customer": {
            "type": "object",
            "description": "Personal data; replaced by the HMAC pseudonym customer_ref at the "
            "edge and never stored in clear.",
            "properties": {k: {"type": "string"} for k in ("account", "phone", "email", "name")},
            "additionalProperties": False,
        },
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "rejected": {"type": "array", "items": {"type": "object"}},
    },
}


def body(schema: dict[str, Any], *media_types: str) -> dict[str, Any]:
    """openapi_extra declaring a required request body of the given schema."""
    content = {media: {"schema": schema} for media in media_types or ("application/json",)}
    return {"requestBody": {"required": True, "content": content}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON or body of the wrong shape."},
    401: {"description": "No, unknown or revoked API key."},
    403: {"description": "Key lacks the ingest scope, or an event of another tenant."},
    413: {"description": "Body or batch larger than the limit."},
    415: {"description": "Unsupported content type."},
    422: {"description": "Invalid events; each error names index, field and reason."},
    503: {"description": "Kafka unavailable or slow; nothing promised. Honour Retry-After."},
}
