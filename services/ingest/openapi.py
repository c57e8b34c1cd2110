"""JSON Schemas of the ingest request bodies, for the OpenAPI document (and so for
schemathesis). Validation itself is done by schemas.events.parse_event, which names every bad
field; these schemas only describe the contract, built from the same enums."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from itertools import permutations
from typing import Any

from schemas.events import MAX_STRING_LENGTH, Channel, CustomerCategory, EventType, Kind
from services.ingest.adapters import asterisk, ticket, webform

_STR = {"type": "string", "minLength": 1, "maxLength": MAX_STRING_LENGTH}


def _enum(enum: type[StrEnum]) -> dict[str, Any]:
    return {"type": "string", "enum": [m.value for m in enum]}


def _past_years(year: int) -> str:
    """A regex alternation of the years 1970..``year`` (2000 <= year <= 2099)."""
    decade, unit = divmod(year % 100, 10)
    middle = f"|20[0-{decade - 1}][0-9]" if decade else ""
    return f"(19[7-9][0-9]{middle}|20{decade}[0-{unit}])"


_YEARS = _past_years(datetime.now(UTC).year)
_MMDD = "-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_HMS = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
#: An RFC 3339 instant of 1970 up to this year: what the edge takes as a time of occurrence
#: (it refuses one more than ingest_max_future_skew_s ahead of its clock).
PAST_INSTANT = {
    "type": "string", "format": "date-time", "example": "2026-11-27T09:15:00.000Z",
    "pattern": f"^{_YEARS}{_MMDD}T{_HMS}([.][0-9]{{1,6}})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
}
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
        "occurred_at": PAST_INSTANT,
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


_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 64}
_AMI_SECONDS = {"type": "string", "pattern": "^[0-9]{1,10}[.][0-9]{1,6}$"}

AMI_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "AmiEvent",
    "description": "One AMI event as a bridge forwards it (fields are AMI's, all strings). "
    "Events other than the three tracked are ignored (counted in `ignored`).",
    "required": ["Event", "Uniqueid", "Queue"],
    "properties": {
        "Event": {"type": "string", "enum": list(asterisk.TYPES)},
        "Uniqueid": {**_AMI_SECONDS, "example": "1764230400.1742"},
        "Linkedid": {**_AMI_SECONDS, "description": "The call (contact); default Uniqueid."},
        "Queue": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
        "Timestamp": {"type": "string", "pattern": "^1[0-7][0-9]{8}([.][0-9]{1,6})?$",
                      "description": "Epoch seconds (timestampevents=yes); default now."},
        "CallerIDNum": {"type": "string", "maxLength": 64},
        "CallerIDName": {"type": "string", "maxLength": 128},
        "Interface": {"type": "string", "maxLength": 128},
        "Position": {"type": "string", "pattern": "^[0-9]{1,4}$"},
        "HoldTime": {"type": "string", "pattern": "^[0-9]{1,6}$"},
    },
    "additionalProperties": {"type": "string", "maxLength": 256},
}
ASTERISK_BODY: dict[str, Any] = {
    "oneOf": [AMI_EVENT_SCHEMA,
              {"type": "array", "items": AMI_EVENT_SCHEMA, "minItems": 1, "maxItems": 100}],
}

_MONTHS = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_ADDRESS = "[A-Za-z0-9._%+-]{1,32}@[A-Za-z0-9-]{1,32}[.][A-Za-z]{2,6}"
_EOL = r"\r?\n"
_NEEDED = (  # the three headers the adapter needs
    r"Message-ID: <[A-Za-z0-9._%+$-]{1,32}@[A-Za-z0-9.-]{1,32}>" + _EOL,
    f"Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), (0[1-9]|1[0-9]|2[0-8]) {_MONTHS} {_YEARS} {_HMS} "
    "[+-](0[0-9]|1[0-2])00" + _EOL,
    rf"From: ([^\r\n<>@,;:\"()\[\]\\]{{0,80}}<{_ADDRESS}>|{_ADDRESS})" + _EOL,
)
# other header lines, folded or not, before, between and after them
_OTHER = rf"([A-Za-z][A-Za-z-]{{0,29}}: [^\r\n]{{0,200}}{_EOL}([ \t][^\r\n]{{0,200}}{_EOL})*)*"
#: An RFC 5322 message: the three needed headers in any order among others, then a body.
EMAIL_BODY: dict[str, Any] = {
    "type": "string",
    "pattern": "^" + _OTHER + "("
    + "|".join(_OTHER.join(order) for order in permutations(_NEEDED)) + ")" + _OTHER
    + rf"({_EOL}[\s\S]*)?$",
    "example": "Message-ID: <a1@mail.example.ru>\nDate: Fri, 27 Nov 2026 09:15:00 +0300\n"
    "From: Ivan Petrov <ivan@example.ru>\nSubject: ...\n\nbody",
}

_PERSON = {k: {"type": "string", "maxLength": 128} for k in ("phone", "email", "name", "account")}
TICKET_BODY: dict[str, Any] = {
    "type": "object",
    "title": "QueueTicketWebhook",
    "required": ["event", "ticket", "timestamp"],
    "properties": {
        "event": {"type": "string", "enum": list(ticket.TYPES)},
        "delivery_id": {**_ID, "description": "The terminal's delivery id (event_id)."},
        "timestamp": PAST_INSTANT,
        "ticket": {
            "type": "object",
            "required": ["office_id", "id"],
            "properties": {
                "office_id": _ID,
                "id": _ID,
                "region": {**_ID, "description": "Default: the region query parameter."},
                "service_group": {"type": "string", "enum": list(ticket.KINDS)},
                "service": _TEXT,
                "operator_id": _TEXT,
                "number": _TEXT,
                "window": _TEXT,
                "priority": {**_TEXT, "description": "disabled or veteran set the "
                             "customer category; other values are kept as an attribute."},
                "client": {"type": "object", "properties": _PERSON},
            },
        },
    },
}

_DETAIL = {"type": "string", "maxLength": 128, "pattern": "[^\\s]"}
WEB_FORM_BODY: dict[str, Any] = {
    "type": "object",
    "title": "WebFormSubmission",
    "required": ["submission_id", "submitted_at", "fields"],
    "properties": {
        "submission_id": _ID,
        "submitted_at": PAST_INSTANT,
        "form_id": _TEXT,
        "region": {**_ID, "description": "Default: the region query parameter."},
        "fields": {
            "type": "object",
            "description": "The form's fields; at least one contact detail.",
            "properties": {
                **{k: _DETAIL for k in webform.CUSTOMER_FIELDS},
                "topic": {"type": "string", "enum": list(webform.KINDS)},
                "message": {"type": "string", "maxLength": 4000},
            },
            "anyOf": [{"required": [k]} for k in ("name", "phone", "email", "account")],
        },
    },
}
