"""Request bodies -> validated, pseudonymized ContactEvents, or errors naming index, field and
reason. Pure: the clock, the caller's tenant and the pseudonymizer are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import orjson

from schemas.codec import encode_event
from schemas.events import ContactEvent, EventValidationError, format_timestamp, parse_event
from services.ingest.pseudonym import REF_PATTERN, Pseudonymizer, looks_personal

CUSTOMER_FIELDS = ("account", "phone", "email", "name")


@dataclass(frozen=True, slots=True)
class EventError:
    index: int
    field: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


class BodyError(Exception):
    """The body as a whole is unusable (malformed JSON, not an array, too many events)."""

    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        super().__init__(message)


def _loads(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"{where}malformed JSON: {exc}") from None


def parse_single(body: bytes) -> list[Any]:
    item = _loads(body, "")
    if not isinstance(item, dict):
        raise BodyError(400, "the body must be one JSON object (use /ingest/events/batch for many)")
    return [item]


def parse_batch(body: bytes, content_type: str, max_events: int) -> list[Any]:
    """A JSON array (application/json) or NDJSON (application/x-ndjson, one event a line)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        items = [
            _loads(line, f"line {number}: ")
            for number, line in enumerate(body.split(b"\n"), start=1)
            if line.strip()
        ]
    elif media in ("application/json", ""):
        items = _loads(body, "")
        if not isinstance(items, list):
            raise BodyError(400, "a JSON batch must be an array of event objects")
    else:
        raise BodyError(
            415, f"unsupported content type {media!r}: use application/json or application/x-ndjson"
        )
    if not items:
        raise BodyError(400, "the batch is empty")
    if len(items) > max_events:
        raise BodyError(413, f"{len(items)} events in one batch; the limit is {max_events}")
    return items


@dataclass(frozen=True, slots=True)
class EdgeContext:
    """What the edge needs to judge events: the caller's tenant, the time, the limits."""

    tenant: str
    now_ms: int
    max_future_skew_ms: int
    pseudonymizer: Pseudonymizer
    max_event_bytes: int = 1_000_000  # Avro-encoded; Kafka's default record limit is 1 MiB


def _customer_ref(
    item: dict[str, Any], ctx: EdgeContext
) -> tuple[str | None, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    customer = item.pop("customer", None)
    given = item.get("customer_ref")
    if given is not None and (not isinstance(given, str) or not REF_PATTERN.match(given)):
        errors.append(
            (
                "customer_ref",
                "is set by the ingest edge; send customer {phone, email, name, account} instead",
            )
        )
    if customer is None:
        return given if not errors else None, errors
    if not isinstance(customer, Mapping) or not all(
        k in CUSTOMER_FIELDS and (v is None or isinstance(v, str)) for k, v in customer.items()
    ):
        errors.append(
            ("customer", "must be an object with string fields " + ", ".join(CUSTOMER_FIELDS))
        )
        return None, errors
    return ctx.pseudonymizer.customer_ref(customer) or given, errors


def prepare_one(
    index: int, raw: object, ctx: EdgeContext
) -> tuple[ContactEvent | None, list[EventError]]:
    """One raw JSON value -> a ContactEvent ready for Kafka (personal data replaced)."""
    if not isinstance(raw, dict):
        return None, [EventError(index, "$", "an event must be a JSON object")]
    item = dict(raw)
    item.setdefault("tenant", ctx.tenant)
    ref, problems = _customer_ref(item, ctx)
    item["customer_ref"] = ref
    for name in ("event_id", "contact_id"):
        value = item.get(name)
        if isinstance(value, str) and looks_personal(value):
            problems.append((name, "looks like a phone number or email; send an opaque id"))
    errors = [EventError(index, f, r) for f, r in problems]
    try:
        event = parse_event(item)
    except EventValidationError as exc:
        return None, errors + [EventError(index, e.field, e.reason) for e in exc.errors]
    if event.occurred_at > ctx.now_ms + ctx.max_future_skew_ms:
        ahead_s = (event.occurred_at - ctx.now_ms) / 1000
        errors.append(
            EventError(
                index,
                "occurred_at",
                (
                    f"{format_timestamp(event.occurred_at)} is {ahead_s:.0f} s in the future; "
                    f"the limit is {ctx.max_future_skew_ms // 1000} s"
                ),
            )
        )
    if errors:
        return None, errors
    event = _scrubbed(event, ctx.pseudonymizer)
    size = _encoded_size_over(event, ctx.max_event_bytes)
    if size is not None:
        return None, [EventError(index, "$", (
            f"the event is {size} bytes encoded; the limit is {ctx.max_event_bytes} bytes "
            "(shorten attributes or free-text fields)"))]
    return event, []


def _encoded_size_over(event: ContactEvent, limit: int) -> int | None:
    """The event's Avro size if it exceeds ``limit``, else None. Encodes only events that
    could: a character takes at most 4 bytes of UTF-8, and the fixed fields well under 1 KiB,
    so an ordinary event is cleared by counting the characters of its text."""
    chars = sum(len(v) for v in astuple_shallow(event) if isinstance(v, str))
    chars += sum(len(k) + len(v) for k, v in event.attributes.items())
    if 4 * chars + 1024 <= limit:
        return None
    size = len(encode_event(event))
    return size if size > limit else None


def astuple_shallow(event: ContactEvent) -> list[object]:
    return [getattr(event, f.name) for f in fields(event)]


def _scrubbed(event: ContactEvent, p: Pseudonymizer) -> ContactEvent:
    """Free-text fields with phones/emails replaced; personal attributes replaced whole."""

    def text(value: str | None) -> str | None:
        return None if value is None else p.scrub_text(value)

    changes: dict[str, Any] = {
        name: scrubbed
        for name in ("office", "agent", "queue", "topic", "related_to")
        if (scrubbed := text(getattr(event, name))) != getattr(event, name)
    }
    attributes = p.scrub_attributes(event.attributes)
    if attributes != event.attributes:
        changes["attributes"] = attributes
    return replace(event, **changes) if changes else event


@dataclass(frozen=True, slots=True)
class Prepared:
    events: list[tuple[int, ContactEvent]]  # (index in the request, event), request order
    errors: list[EventError]
    foreign: list[EventError]  # events of another tenant than the key's


def prepare(items: Sequence[object], ctx: EdgeContext) -> Prepared:
    events: list[tuple[int, ContactEvent]] = []
    errors: list[EventError] = []
    foreign: list[EventError] = []
    for index, raw in enumerate(items):
        event, problems = prepare_one(index, raw, ctx)
        if event is not None and event.tenant != ctx.tenant:
            foreign.append(
                EventError(
                    index,
                    "tenant",
                    (f"event of tenant {event.tenant!r} but the API key belongs to {ctx.tenant!r}"),
                )
            )
        elif event is not None:
            events.append((index, event))
        errors.extend(problems)
    return Prepared(events, errors, foreign)
