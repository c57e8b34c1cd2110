"""The canonical JSON form of a contact event: parsing, validation messages, round trip."""

from __future__ import annotations

import pytest

from schemas.events import (
    Channel,
    EventType,
    EventValidationError,
    event_to_json,
    format_timestamp,
    parse_event,
    parse_timestamp,
)

GOOD = {
    "event_id": "e-1",
    "contact_id": "c-1",
    "tenant": "mrsk-center",
    "region": "tver",
    "channel": "phone",
    "type": "queued",
    "occurred_at": "2026-11-27T12:00:00.250+03:00",
}


def test_parse_good_event_defaults_kind_and_category() -> None:
    event = parse_event(GOOD)
    assert event.channel is Channel.PHONE
    assert event.type is EventType.QUEUED
    assert event.kind.value == "inquiry"
    assert event.customer_category.value == "standard"
    assert format_timestamp(event.occurred_at) == "2026-11-27T09:00:00.250Z"


def test_round_trip_through_canonical_json() -> None:
    event = parse_event({**GOOD, "attributes": {"ani_hash": "x"}, "office": "tver-1"})
    assert parse_event(event_to_json(event)) == event


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"channel": "fax"}, "channel", "unknown value 'fax'"),
        ({"type": "teleported"}, "type", "unknown value"),
        ({"occurred_at": "2026-11-27 12:00"}, "occurred_at", "not an RFC 3339"),
        ({"occurred_at": "2026-11-27T12:00:00"}, "occurred_at", "has no offset"),
        ({"contact_id": None}, "contact_id", "required"),
        ({"tenant": 5}, "tenant", "must be a string"),
        ({"attributes": {"a": 1}}, "attributes", "string to string"),
    ],
)
def test_bad_fields_are_named_with_a_reason(patch: dict, field: str, reason: str) -> None:
    with pytest.raises(EventValidationError) as info:
        parse_event({**GOOD, **patch})
    assert [e.field for e in info.value.errors] == [field]
    assert reason in info.value.errors[0].reason


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(EventValidationError) as info:
        parse_event({"event_id": "x"})
    assert {e.field for e in info.value.errors} >= {"contact_id", "channel", "occurred_at"}


def test_timestamp_offsets_and_z_agree() -> None:
    assert parse_timestamp("2026-01-01T00:00:00Z") == parse_timestamp("2026-01-01T03:00:00+03:00")
    assert parse_timestamp("1970-01-01T00:00:00.0019Z") == 1
