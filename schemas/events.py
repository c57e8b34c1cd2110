"""The contact-event vocabulary: one frozen record per thing that happened to a contact.

Pure Python: no fastavro, no I/O. The canonical JSON form (also the NDJSON line format of the
CLI) is parsed by :func:`parse_event` and written by :func:`event_to_json`. Times are held as
integer milliseconds since the Unix epoch, UTC, which is what Avro's ``timestamp-millis`` carries
and what the SLA arithmetic wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    IN_PERSON = "in_person"
    POST = "post"
    MESSENGER = "messenger"


class EventType(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    CALLBACK_REQUESTED = "callback_requested"
    CALLBACK_COMPLETED = "callback_completed"
    REGISTERED = "registered"
    CLASSIFIED = "classified"
    ASSIGNED = "assigned"
    RESPONDED = "responded"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    PAUSED = "paused"
    RESUMED = "resumed"


class Kind(StrEnum):
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    OUTAGE = "outage"
    SERVICE_REQUEST = "service_request"
    CONNECTION = "connection"


class CustomerCategory(StrEnum):
    STANDARD = "standard"
    DISABLED = "disabled"
    VETERAN = "veteran"
    VULNERABLE = "vulnerable"


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """Something that happened to one contact (one appeal on one channel)."""

    event_id: str
    contact_id: str
    tenant: str
    region: str
    channel: Channel
    type: EventType
    occurred_at: int  # epoch milliseconds, UTC
    kind: Kind = Kind.INQUIRY
    customer_category: CustomerCategory = CustomerCategory.STANDARD
    office: str | None = None
    agent: str | None = None
    queue: str | None = None
    topic: str | None = None
    customer_ref: str | None = None  # keyed HMAC pseudonym of the customer, never clear text
    related_to: str | None = None  # contact_id of an earlier contact about the same matter
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class EventValidationError(ValueError):
    """A JSON object is not a valid contact event; ``errors`` names every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


REQUIRED_FIELDS = ("event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at")
OPTIONAL_STRING_FIELDS = ("office", "agent", "queue", "topic", "customer_ref", "related_to")
MAX_STRING_LENGTH = 256


def parse_timestamp(value: object) -> int:
    """RFC 3339 with an offset or Z -> epoch milliseconds (sub-millisecond digits truncated)."""
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 string such as 2026-11-27T09:15:00.000Z")
    text = value.strip()
    if "T" not in text and "t" not in text:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r} (date and time need a 'T')")
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no offset; add Z or +03:00")
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_timestamp(epoch_ms: int) -> str:
    """Epoch milliseconds -> RFC 3339 UTC, millisecond precision: 2026-11-27T09:15:00.000Z."""
    seconds, millis = divmod(epoch_ms, 1000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _enum(errors: list[FieldError], name: str, enum: type[StrEnum], raw: object) -> Any:
    try:
        return enum(raw)  # type: ignore[arg-type]
    except ValueError:
        allowed = " | ".join(m.value for m in enum)
        errors.append(FieldError(name, f"unknown value {raw!r}; expected one of {allowed}"))
        return None


def parse_event(obj: object) -> ContactEvent:
    """Canonical JSON object -> ContactEvent, or EventValidationError naming every bad field."""
    if not isinstance(obj, Mapping):
        raise EventValidationError([FieldError("$", "an event must be a JSON object")])
    errors: list[FieldError] = []
    for name in REQUIRED_FIELDS:
        if obj.get(name) in (None, ""):
            errors.append(FieldError(name, "required field is missing"))
    for name in ("event_id", "contact_id", "tenant", "region", *OPTIONAL_STRING_FIELDS):
        value = obj.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(FieldError(name, "must be a string"))
        elif len(value) > MAX_STRING_LENGTH:
            errors.append(FieldError(name, f"longer than {MAX_STRING_LENGTH} characters"))
    channel = _enum(errors, "channel", Channel, obj["channel"]) if obj.get("channel") else None
    etype = _enum(errors, "type", EventType, obj["type"]) if obj.get("type") else None
    kind = _enum(errors, "kind", Kind, obj.get("kind") or Kind.INQUIRY.value)
    category = _enum(
        errors, "customer_category", CustomerCategory, obj.get("customer_category") or "standard"
    )
    occurred_at = 0
    if obj.get("occurred_at") not in (None, ""):
        try:
            occurred_at = parse_timestamp(obj["occurred_at"])
        except ValueError as exc:
            errors.append(FieldError("occurred_at", str(exc)))
    attributes = obj.get("attributes") or {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        errors.append(FieldError("attributes", "must be an object of string to string"))
        attributes = {}
    if errors or channel is None or etype is None:
        raise EventValidationError(errors)
    return ContactEvent(
        event_id=obj["event_id"],
        contact_id=obj["contact_id"],
        tenant=obj["tenant"],
        region=obj["region"],
        channel=channel,
        type=etype,
        occurred_at=occurred_at,
        kind=kind,
        customer_category=category,
        office=obj.get("office"),
        agent=obj.get("agent"),
        queue=obj.get("queue"),
        topic=obj.get("topic"),
        customer_ref=obj.get("customer_ref"),
        related_to=obj.get("related_to"),
        attributes=dict(attributes),
    )


def event_to_json(event: ContactEvent) -> dict[str, Any]:
    """ContactEvent -> canonical JSON object (optional fields left out when empty)."""
    out: dict[str, Any] = {
        "event_id": event.event_id,
        "contact_id": event.contact_id,
        "tenant": event.tenant,
        "region": event.region,
        "channel": event.channel.value,
        "type": event.type.value,
        "occurred_at": format_timestamp(event.occurred_at),
        "kind": event.kind.value,
        "customer_category": event.customer_category.value,
    }
    for name in OPTIONAL_STRING_FIELDS:
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    if event.attributes:
        out["attributes"] = dict(event.attributes)
    return out
