"""The contacts projector's pure parts: touched ids read from still-encoded Avro events equal
the decoded contact_id (for every schema version and awkward strings), and the row mapping."""

from __future__ import annotations

import pytest

from schemas.codec import HEADER_SIZE, DecodeError, default_catalog, encode_event
from schemas.events import Channel, ContactEvent, EventType, Kind
from services.sink.contacts import (
    CONTACT_COLUMNS,
    ContactsProjector,
    chunks,
    contact_row,
    encoded_contact_id,
    touched_contacts,
)
from streams.sla.state import build_state


def _event(event_id: str, contact_id: str, etype: EventType, at: int, **kw: object) -> ContactEvent:
    return ContactEvent(event_id=event_id, contact_id=contact_id, tenant="grid-a",
                        region="tver", channel=Channel.PHONE, type=etype, occurred_at=at,
                        kind=Kind.INQUIRY, **kw)  # type: ignore[arg-type]


def test_every_event_schema_starts_with_event_id_and_contact_id() -> None:
    """encoded_contact_id skips one string and reads the next: true for every version."""
    for version in default_catalog().versions("ContactEventRecorded"):
        fields = version.schema["fields"][:2]
        assert [(f["name"], f["type"]) for f in fields] == [
            ("event_id", "string"), ("contact_id", "string")]


@pytest.mark.parametrize("contact_id", [
    "c1", "", "x" * 63, "y" * 64, "z" * 300, "контакт-№7", "a'b\\c\tq",
])
def test_encoded_contact_id_equals_the_decoded_one(contact_id: str) -> None:
    for event_id in ("e", "e" * 70, "событие"):
        value = encode_event(_event(event_id, contact_id, EventType.RECEIVED, 1))
        assert encoded_contact_id(value) == contact_id


def test_a_truncated_body_falls_back_to_a_full_decode_that_fails() -> None:
    value = encode_event(_event("e1", "c" * 200, EventType.RECEIVED, 1))
    with pytest.raises(DecodeError):  # from the fallback full decode
        encoded_contact_id(value[:HEADER_SIZE + 10])
    assert touched_contacts(None, [value[:HEADER_SIZE + 10], value]) == {"c" * 200}


def test_touched_contacts_from_rows_and_encoded_values() -> None:
    rows = [("e1", "c1"), ("e2", "c2"), ("e3", "c1")]
    encoded = [encode_event(_event("e4", "c3", EventType.RECEIVED, 1))]
    assert touched_contacts(rows, encoded) == {"c1", "c2", "c3"}


def test_chunks_are_bounded_and_cover_everything() -> None:
    got = list(chunks({f"c{i}" for i in range(25)}, size=10))
    assert [len(c) for c in got] == [10, 10, 5]
    assert sorted(x for c in got for x in c) == sorted(f"c{i}" for i in range(25))


def test_contact_row_of_out_of_order_and_duplicated_events() -> None:
    events = [
        _event("e3", "c1", EventType.ANSWERED, 3_000, agent="a7"),
        _event("e1", "c1", EventType.RECEIVED, 1_000, customer_ref="ref"),
        _event("e2", "c1", EventType.QUEUED, 2_000, queue="main"),
        _event("e3", "c1", EventType.ANSWERED, 3_000, agent="a7"),  # redelivered
    ]
    row = dict(zip(CONTACT_COLUMNS, contact_row(build_state(events)), strict=True))
    assert row["status"] == "answered"
    assert (row["received_at"], row["queued_at"], row["answered_at"]) == (1_000, 2_000, 3_000)
    assert (row["agent"], row["queue"], row["customer_ref"]) == ("a7", "main", "ref")
    assert row["updated_at"] == 3_000
    assert row["event_count"] == row["version"] == 3


def test_the_projector_waits_while_the_sink_catches_up_but_not_forever() -> None:
    now = [100.0]
    projector = ContactsProjector(None, interval_s=2.0, max_defer_s=30.0,  # type: ignore[arg-type]
                                  clock=lambda: now[0])
    assert not projector.deferring()  # nothing pending
    projector.note([("e1", "c1")], [], full=False)
    assert not projector.deferring()  # live traffic: batches flushed by age
    projector.note([("e2", "c2")], [], full=True)
    assert projector.deferring()  # a full batch just now: a backlog
    now[0] += 2.5
    assert not projector.deferring()  # no full batch within the last interval
    for _ in range(30):  # a long backlog: full batches every second
        projector.note([("e3", "c3")], [], full=True)
        now[0] += 1.0
    assert not projector.deferring()  # the oldest noted batch waited over max_defer_s
