"""Ingest acceptance on the real broker: batches appear exactly once and decode to the same
JSON, re-posting adds nothing, bad inputs produce nothing, adapters reach the topic, and no
phone, email or name is anywhere in the topic's bytes."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas import codec
from schemas.events import event_to_json, format_timestamp, parse_event
from services.adapters.kafka_reader import ConsumedRecord
from services.auth import KeyStore
from services.ingest.pseudonym import Pseudonymizer
from services.ingest.validation import EdgeContext, prepare_one
from tests.integration.ingest_support import (
    TENANT,
    create_key,
    email,
    ingest_settings,
    make_events,
    name,
    phone,
    serve,
)
from tests.unit.test_channel_adapters import AGENT_CONNECT, CALLER_JOIN, FORM, MAIL, TICKET

pytestmark = pytest.mark.kafka
Reader = Callable[..., list[ConsumedRecord]]


@pytest.fixture
def api(
    tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str]
) -> Iterator[tuple[httpx.Client, str, Any]]:
    settings = ingest_settings(tmp_path, kafka_bootstrap, new_topic(partitions=3))
    key = create_key(settings)
    with (
        serve(settings) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client,
    ):
        yield client, settings.events_topic, settings


def expected_json(raw: dict[str, Any], settings: Any) -> dict[str, Any]:
    """What the edge should produce for one input: customer -> ref, free text scrubbed."""
    ctx = EdgeContext(TENANT, 2**62, 0, Pseudonymizer(settings.pseudonym_key.encode()))
    event, errors = prepare_one(0, copy.deepcopy(raw), ctx)
    assert event is not None and not errors
    return event_to_json(event)


def assert_no_personal_data(records: list[ConsumedRecord], indexes: range) -> None:
    """Scan every key and value byte: no name, no email, no formatted phone, and no digit run
    that contains one of the phones sent (with or without the country code)."""
    blob = b"\x00".join((r.key or b"") + b"\x00" + (r.value or b"") for r in records)
    text = blob.decode("utf-8", errors="replace")
    for token in ("Иванов", "Пётр", "@", "example.ru", "+7 ("):
        assert token not in text, f"{token!r} found in clear on the topic"
    phones = set()
    for i in indexes:
        digits = "".join(c for c in phone(i) if c.isdigit())
        phones |= {digits, digits[1:]}
    for run in re.findall(r"\d{10,}", text):
        for size in (10, 11):
            hits = {run[k : k + size] for k in range(len(run) - size + 1)} & phones
            assert not hits, f"phone digits {hits} found in clear on the topic"
    assert email(indexes[0]) not in text and name(indexes[0]) not in text


def test_batches_appear_exactly_once_and_reposting_adds_nothing(
    api: tuple[httpx.Client, str, Any], read_records: Reader
) -> None:
    client, topic, settings = api
    events = make_events(10_000, "ex1")
    batches = [events[i : i + 2_500] for i in range(0, 10_000, 2_500)]
    for n, batch in enumerate(batches):
        if n % 2:
            body = b"\n".join(orjson.dumps(e) for e in batch)
            response = client.post(
                "/ingest/events/batch",
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
            )
        else:
            response = client.post("/ingest/events/batch", json=batch)
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": 2_500, "duplicates": 0, "rejected": []}
    records = read_records(topic)
    assert len(records) == 10_000
    decoded = {e.event_id: e for e in (codec.decode_event(r.value or b"") for r in records)}
    assert len(decoded) == 10_000
    for raw in events[::97]:  # decode to the same JSON (a sample; the set check covers all)
        assert event_to_json(decoded[raw["event_id"]]) == expected_json(raw, settings)
    assert all(
        r.key == decoded_key
        for r, decoded_key in (
            (r, codec.decode_event(r.value or b"").contact_id.encode()) for r in records
        )
    )
    assert_no_personal_data(records, range(10_000))
    for batch in batches:  # a client retrying everything: accepted, not produced again
        again = client.post("/ingest/events/batch", json=batch)
        assert again.json() == {"accepted": 0, "duplicates": 2_500, "rejected": []}
    single = client.post("/ingest/events", json=events[0])
    assert single.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert len(read_records(topic)) == 10_000


def test_one_batch_of_ten_thousand_ndjson_events(
    api: tuple[httpx.Client, str, Any], read_records: Reader
) -> None:
    client, topic, _ = api
    body = b"\n".join(orjson.dumps(e) for e in make_events(10_000, "big"))
    response = client.post(
        "/ingest/events/batch", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.json()["accepted"] == 10_000
    assert len(read_records(topic)) == 10_000


def test_bad_inputs_produce_nothing(
    api: tuple[httpx.Client, str, Any], read_records: Reader, tmp_path: Path
) -> None:
    client, topic, settings = api
    good = make_events(3, "bad")
    store = KeyStore(settings.data_dir / "keys.json")
    revoked = create_key(settings)
    store.revoke(revoked.split("_")[1], now_ms=2)
    other_key = create_key(settings, tenant="tgc-2")

    def with_bad(index: int, **patch: Any) -> list[dict[str, Any]]:
        batch = copy.deepcopy(good)
        batch[index].update(patch)
        return [{k: v for k, v in e.items() if v is not None} for e in batch]

    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("malformed", {"content": b'[{"event_id": '}, 400, "malformed JSON"),
        ("channel", {"json": with_bad(1, channel="fax")}, 422, "unknown value 'fax'"),
        ("type", {"json": with_bad(2, type="teleported")}, 422, "unknown value 'teleported'"),
        ("missing", {"json": with_bad(0, contact_id=None)}, 422, "required field is missing"),
        ("timestamp", {"json": with_bad(1, occurred_at="2026-11-27")}, 422, "RFC 3339"),
        ("future", {"json": with_bad(1, occurred_at="2099-01-01T00:00:00Z")}, 422, "in the future"),
        (
            "oversized",
            {"content": b"[" + b" " * settings.ingest_max_body_bytes + b"]"},
            413,
            "exceeds the limit",
        ),
        ("tenant", {"json": with_bad(2, tenant="tgc-2")}, 403, "belongs to 'mrsk-center'"),
        ("no key", {"json": good, "headers": {"Authorization": ""}}, 401, "missing API key"),
        (
            "revoked",
            {"json": good, "headers": {"Authorization": f"Bearer {revoked}"}},
            401,
            "revoked",
        ),
        (
            "other tenant's key",
            {
                "json": [{**e, "tenant": TENANT} for e in good],
                "headers": {"Authorization": f"Bearer {other_key}"},
            },
            403,
            "belongs to 'tgc-2'",
        ),
    ]
    for label, kwargs, status, message in cases:
        response = client.post("/ingest/events/batch", **kwargs)
        assert response.status_code == status, (label, response.text)
        assert message in str(response.json()["detail"]), (label, response.text)
    assert read_records(topic) == []
    partial = client.post("/ingest/events/batch?partial=true", json=with_bad(1, channel="fax"))
    assert partial.json()["accepted"] == 2 and partial.json()["rejected"][0]["index"] == 1
    assert len(read_records(topic)) == 2


def test_adapters_reach_the_topic_pseudonymized(
    api: tuple[httpx.Client, str, Any], read_records: Reader
) -> None:
    client, topic, _ = api
    now_s = time.time()
    join = {**CALLER_JOIN, "Timestamp": f"{now_s - 60:.6f}"}
    connect = {**AGENT_CONNECT, "Timestamp": f"{now_s - 20:.6f}"}
    form = {**FORM, "submitted_at": format_timestamp(int(now_s * 1000) - 5000)}
    posts: list[tuple[str, dict[str, Any]]] = [
        (
            "/ingest/adapters/asterisk?region=tver&kind=outage",
            {"json": [join, connect]},
        ),
        (
            "/ingest/adapters/email?region=tver&mailbox=info",
            {"content": MAIL.encode(), "headers": {"Content-Type": "message/rfc822"}},
        ),
        (
            "/ingest/adapters/queue-ticket?region=tver",
            {"json": {**TICKET, "timestamp": "2026-11-27T06:00:00Z"}},
        ),
        ("/ingest/adapters/web-form?region=tver", {"json": form}),
    ]
    for path, kwargs in posts:
        response = client.post(path, **kwargs)
        assert response.status_code == 200 and response.json()["accepted"] >= 1, response.text
    records = read_records(topic)
    events = [codec.decode_event(r.value or b"") for r in records]
    assert sorted(e.channel.value for e in events) == [
        "email",
        "in_person",
        "phone",
        "phone",
        "web",
    ]
    assert all(e.customer_ref and e.customer_ref.startswith("cr_") for e in events)
    blob = b"".join(r.value or b"" for r in records)
    for needle in (
        "79123456789",
        "912",
        "I.Ivanov",
        "example.ru",
        "IVANOV",
        "Иванов",
        "Сидоров",
        "Кузнецова",
        "4822",
        "690012345678",
        "Petrova",
    ):
        assert needle.encode() not in blob, needle
    by_channel = {e.channel.value: e for e in events}
    phone_ref = by_channel["phone"].customer_ref
    assert phone_ref == parse_event(event_to_json(by_channel["phone"])).customer_ref
