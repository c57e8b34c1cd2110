"""Request bodies -> events: every error names index, field and reason; personal data never
survives; tenant, skew and shape rules."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.ingest.pseudonym import Pseudonymizer
from services.ingest.validation import (
    BodyError,
    EdgeContext,
    parse_batch,
    parse_single,
    prepare,
)

NOW = 1_795_770_000_000  # 2026-11-27T09:00:00Z
CTX = EdgeContext(
    tenant="mrsk", now_ms=NOW, max_future_skew_ms=300_000, pseudonymizer=Pseudonymizer(b"k" * 32)
)


def event(**patch: Any) -> dict[str, Any]:
    base = {
        "event_id": "e-1",
        "contact_id": "c-1",
        "region": "tver",
        "channel": "phone",
        "type": "queued",
        "occurred_at": "2026-11-27T09:15:00.000+03:00",
    }
    return {k: v for k, v in {**base, **patch}.items() if v is not None}


def test_ndjson_and_array_give_the_same_items() -> None:
    items = [event(event_id=f"e-{i}") for i in range(3)]
    ndjson = b"\n".join(orjson.dumps(i) for i in items) + b"\n\n"
    assert parse_batch(ndjson, "application/x-ndjson", 10) == items
    assert parse_batch(orjson.dumps(items), "application/json; charset=utf-8", 10) == items


@pytest.mark.parametrize(
    ("body", "ctype", "status", "message"),
    [
        (b'{"a": 1}\n{"b": ', "application/x-ndjson", 400, "line 2: malformed JSON"),
        (b"[{]", "application/json", 400, "malformed JSON"),
        (b'{"event_id": "e"}', "application/json", 400, "must be an array"),
        (b"[]", "application/json", 400, "empty"),
        (b"[1,2,3]", "application/json", 413, "3 events in one batch; the limit is 2"),
        (b"[]", "text/csv", 415, "unsupported content type 'text/csv'"),
    ],
)
def test_bad_batch_bodies(body: bytes, ctype: str, status: int, message: str) -> None:
    with pytest.raises(BodyError, match=message) as info:
        parse_batch(body, ctype, 2)
    assert info.value.status_code == status


def test_single_body_must_be_an_object() -> None:
    with pytest.raises(BodyError, match="one JSON object"):
        parse_single(b"[1]")


def test_tenant_defaults_to_the_key_and_customer_becomes_a_ref() -> None:
    prepared = prepare([event(customer={"phone": "+7 912 345-67-89", "name": "Иванов"})], CTX)
    assert not prepared.errors and not prepared.foreign
    ((index, ev),) = prepared.events
    assert index == 0 and ev.tenant == "mrsk"
    assert ev.customer_ref and ev.customer_ref.startswith("cr_")


def test_errors_name_index_field_and_reason() -> None:
    prepared = prepare(
        [
            event(),
            event(channel="fax"),
            "not an object",
            event(contact_id=None),
            event(occurred_at="2026-11-27 09:15"),
            event(occurred_at="2026-11-27T10:10:00Z"),
        ],
        CTX,
    )
    found = {(e.index, e.field): e.reason for e in prepared.errors}
    assert [i for i, _ in prepared.events] == [0]
    assert "unknown value 'fax'" in found[(1, "channel")]
    assert found[(2, "$")] == "an event must be a JSON object"
    assert found[(3, "contact_id")] == "required field is missing"
    assert "not an RFC 3339 timestamp" in found[(4, "occurred_at")]
    assert "4200 s in the future; the limit is 300 s" in found[(5, "occurred_at")]


def test_foreign_tenant_is_reported_separately() -> None:
    prepared = prepare([event(tenant="other-utility")], CTX)
    assert prepared.events == [] and prepared.errors == []
    assert "belongs to 'mrsk'" in prepared.foreign[0].reason


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"customer_ref": "+79123456789"}, "customer_ref", "set by the ingest edge"),
        ({"customer": {"phone": 79123456789}}, "customer", "string fields"),
        ({"customer": {"passport": "4510 123456"}}, "customer", "string fields"),
        ({"contact_id": "+7 912 345 67 89"}, "contact_id", "opaque id"),
        ({"event_id": "ivanov@example.ru"}, "event_id", "opaque id"),
    ],
)
def test_personal_data_in_the_wrong_place_is_refused(
    patch: dict[str, Any], field: str, reason: str
) -> None:
    prepared = prepare([event(**patch)], CTX)
    assert prepared.events == []
    assert any(e.field == field and reason in e.reason for e in prepared.errors)


def test_free_text_is_scrubbed_and_our_own_refs_pass() -> None:
    ref = CTX.pseudonymizer.customer_ref({"email": "a@b.ru"})
    prepared = prepare(
        [
            event(
                topic="перезвонить 8 912 345 67 89",
                customer_ref=ref,
                attributes={"email": "a@b.ru", "ivr": "2"},
            )
        ],
        CTX,
    )
    ((_, ev),) = prepared.events
    assert ev.customer_ref == ref
    assert "912" not in (ev.topic or "") and ev.attributes["ivr"] == "2"
    assert ev.attributes["email"].startswith("cr_")


def test_an_event_kafka_would_refuse_as_too_large_is_a_clear_error() -> None:
    """Over Kafka's 1 MiB record size an event would pass validation and fail the publish (a
    503 the client retries for ever): it is refused with the reason instead."""
    huge = event(attributes={f"k{i}": "x" * 250 for i in range(6000)})
    result = prepare([huge, event(event_id="e-2")], CTX)
    assert [e.event_id for _, e in result.events] == ["e-2"]
    (error,) = result.errors
    assert error.index == 0 and error.field == "$"
    assert "bytes encoded; the limit is 1000000 bytes" in error.reason
    # below the limit, however close, it passes (the character count alone does not refuse)
    near = event(attributes={"note": "я" * 240_000})  # 480 kB of UTF-8, counted as 960 kB
    assert prepare([near], CTX).errors == []
    small = EdgeContext(CTX.tenant, CTX.now_ms, CTX.max_future_skew_ms, CTX.pseudonymizer,
                        max_event_bytes=400_000)
    assert "the limit is 400000 bytes" in prepare([near], small).errors[0].reason
