"""schemas/codec.py: single-object framing, fingerprints, catalog rules, DecodeError."""

from __future__ import annotations

import json
import shutil
from enum import StrEnum
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import codec
from schemas.events import (
    Channel,
    ContactEvent,
    CustomerCategory,
    EventType,
    Kind,
    parse_event,
)

EVENT = parse_event(
    {
        "event_id": "e-1",
        "contact_id": "c-1",
        "tenant": "mrsk-center",
        "region": "tver",
        "channel": "phone",
        "type": "queued",
        "occurred_at": "2026-11-27T12:00:00.250+03:00",
        "queue": "outage-line",
        "attributes": {"ivr_branch": "2"},
    }
)


def crc64_avro(data: bytes) -> int:
    """The Avro spec's reference fingerprint algorithm, written out independently."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_reference_fingerprint_of_null_matches_the_avro_spec_vector() -> None:
    assert crc64_avro(b'"null"') == 7195948357588979594 % 2**64


def test_header_is_magic_plus_little_endian_fingerprint() -> None:
    data = codec.encode_event(EVENT)
    sv = codec.default_catalog().get(codec.CONTACT_EVENT)
    canonical = (
        '{"name":"kontakt.contact.ContactEventRecorded","type":"record","fields":['
        '{"name":"event_id","type":"string"}'
    )
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == sv.fingerprint
    # The canonical form starts as the spec says (full name, no docs, no logicalType).
    from fastavro.schema import to_parsing_canonical_form

    pcf = to_parsing_canonical_form(sv.schema)
    assert pcf.startswith(canonical) and "logicalType" not in pcf and "doc" not in pcf
    assert int.from_bytes(data[2:10], "little") == crc64_avro(pcf.encode())


def test_round_trip_keeps_ints_for_times() -> None:
    name, datum = codec.decode(codec.encode_event(EVENT))
    assert name == codec.CONTACT_EVENT
    assert datum["occurred_at"] == EVENT.occurred_at and isinstance(datum["occurred_at"], int)
    assert codec.decode_event(codec.encode_event(EVENT)) == EVENT


TEXT = st.text(min_size=1, max_size=30)
EVENTS = st.builds(
    ContactEvent,
    event_id=TEXT,
    contact_id=TEXT,
    tenant=TEXT,
    region=TEXT,
    channel=st.sampled_from(Channel),
    type=st.sampled_from(EventType),
    occurred_at=st.integers(min_value=0, max_value=2**62),
    kind=st.sampled_from(Kind),
    customer_category=st.sampled_from(CustomerCategory),
    office=st.none() | TEXT,
    agent=st.none() | TEXT,
    queue=st.none() | TEXT,
    topic=st.none() | TEXT,
    customer_ref=st.none() | TEXT,
    related_to=st.none() | TEXT,
    attributes=st.dictionaries(TEXT, st.text(max_size=20), max_size=4),
)


@given(EVENTS)
def test_any_event_round_trips(event: ContactEvent) -> None:
    assert codec.decode_event(codec.encode_event(event)) == event


@pytest.mark.parametrize(
    ("enum", "field"),
    [(Channel, "channel"), (EventType, "type"), (Kind, "kind"),
     (CustomerCategory, "customer_category")],
)
def test_avsc_enums_match_the_vocabulary(enum: type[StrEnum], field: str) -> None:
    schema = codec.default_catalog().get(codec.CONTACT_EVENT).schema
    avro_type = next(f["type"] for f in schema["fields"] if f["name"] == field)
    assert avro_type["symbols"] == [m.value for m in enum]


def test_event_fields_match_the_vocabulary() -> None:
    schema = codec.default_catalog().get(codec.CONTACT_EVENT).schema
    assert [f["name"] for f in schema["fields"]] == list(ContactEvent.__slots__)


GOOD = codec.encode_event(EVENT)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "missing C3 01"),
        (b'{"event_id": "e-1"}', "missing C3 01"),
        (b"\xc3\x01" + b"\x00" * 8 + GOOD[10:], "unknown schema fingerprint"),
        (GOOD[:-4], "cannot decode"),
        (GOOD[:10], "cannot decode"),
        (GOOD + b"\x00", "1 trailing bytes"),
    ],
)
def test_garbage_raises_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(codec.DecodeError, match=message):
        codec.decode(data)


def test_decode_event_rejects_other_records(tmp_path: Path) -> None:
    (tmp_path / "Ping.v1.avsc").write_text(
        json.dumps({"type": "record", "name": "Ping", "fields": [{"name": "n", "type": "int"}]})
    )
    shutil.copy(codec.AVRO_DIR / "ContactEventRecorded.v1.avsc", tmp_path)
    catalog = codec.load_catalog(tmp_path)
    assert catalog.names() == ["ContactEventRecorded", "Ping"]
    assert codec.decode(codec.encode("Ping", {"n": 5}, catalog=catalog), catalog=catalog) == (
        "Ping",
        {"n": 5},
    )


def test_encode_error_names_the_field() -> None:
    datum = {**codec.event_to_datum(EVENT), "channel": "fax"}
    with pytest.raises(codec.EncodeError, match="channel"):
        codec.encode(codec.CONTACT_EVENT, datum)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"ContactEventRecorded.avsc": "{}"}, "named <RecordName>.v<N>.avsc"),
        ({"Ping.v1.avsc": "{not json"}, "not a valid Avro schema"),
        ({"Ping.v1.avsc": '{"type":"record","name":"Pong","fields":[]}'}, "record named 'Ping'"),
        ({"Ping.v2.avsc": '{"type":"record","name":"Ping","fields":[]}'}, "without gaps"),
    ],
)
def test_catalog_rejects_bad_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(codec.CatalogError, match=message):
        codec.load_catalog(tmp_path)
