"""Every bad input gets a 4xx with a precise message before anything is published. The app
points at a dead Kafka address: had it tried to publish, the answer would be a 503, not 4xx.
(tests/integration/test_ingest_kafka.py proves on the real broker that nothing is produced.)"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType
from services.settings import load_settings


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("ingest-api")
    settings = load_settings(
        data_dir=data_dir,
        kafka_bootstrap=f"127.0.0.1:{dead_port()}",
        ingest_max_body_bytes=64 * 1024,
        ingest_max_batch_events=100,
    )
    store = KeyStore(Path(data_dir) / "keys.json")
    keys = {}
    _, keys["ingest"] = store.create("mrsk", [Scope.INGEST], tenant_type=TenantType.GRID, now_ms=1)
    _, keys["read"] = store.create("mrsk", [Scope.READ], tenant_type=None, now_ms=1)
    revoked, keys["revoked"] = store.create("mrsk", [Scope.INGEST], tenant_type=None, now_ms=1)
    store.revoke(revoked.key_id, now_ms=2)
    return TestClient(create_app(settings)), keys


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


def post(
    api: tuple[TestClient, dict[str, str]],
    body: bytes,
    *,
    key: str | None = "ingest",
    path: str = "/ingest/events/batch",
    ctype: str = "application/json",
) -> Any:
    client, keys = api
    headers = {"Content-Type": ctype}
    if key:
        headers["Authorization"] = f"Bearer {keys[key]}"
    return client.post(path, content=body, headers=headers)


def batch(*events: Any) -> bytes:
    return orjson.dumps(list(events))


CASES = [
    ("malformed json", b'[{"event_id": "e-1",', {}, 400, "malformed JSON"),
    (
        "unknown channel",
        batch(event(), event(event_id="e-2", channel="fax")),
        {},
        422,
        "'index': 1, 'field': 'channel', 'reason': \"unknown value 'fax'",
    ),
    (
        "unknown type",
        batch(event(type="teleported")),
        {},
        422,
        "'field': 'type', 'reason': \"unknown value 'teleported'",
    ),
    (
        "missing field",
        batch(event(region=None)),
        {},
        422,
        "'field': 'region', 'reason': 'required field is missing'",
    ),
    (
        "bad timestamp",
        batch(event(occurred_at="27.11.2026 09:15")),
        {},
        422,
        "'field': 'occurred_at', 'reason': \"not an RFC 3339 timestamp",
    ),
    (
        "far future",
        batch(event(occurred_at="2099-01-01T00:00:00Z")),
        {},
        422,
        "s in the future; the limit is 300 s",
    ),
    (
        "oversized body",
        batch(*[event(event_id=f"e-{i}", topic="x" * 200) for i in range(300)]),
        {},
        413,
        "exceeds the limit of 65536 bytes",
    ),
    (
        "too many events",
        batch(*[event(event_id=f"e-{i}") for i in range(101)]),
        {},
        413,
        "101 events in one batch; the limit is 100",
    ),
    (
        "wrong tenant",
        batch(event(), event(event_id="e-2", tenant="other")),
        {},
        403,
        "'index': 1, 'field': 'tenant', 'reason': \"event of tenant 'other' but the API key "
        "belongs to 'mrsk'",
    ),
    ("no key", batch(event()), {"key": None}, 401, "missing API key"),
    ("revoked key", batch(event()), {"key": "revoked"}, 401, "has been revoked"),
    ("read-only key", batch(event()), {"key": "read"}, 403, "lacks scope 'ingest'"),
    ("csv", b"a,b", {"ctype": "text/csv"}, 415, "unsupported content type 'text/csv'"),
    ("single not object", b"[]", {"path": "/ingest/events"}, 400, "one JSON object"),
    (
        "ndjson bad line",
        b'{"event_id": "e-1"}\n{oops}\n',
        {"ctype": "application/x-ndjson"},
        400,
        "line 2: malformed JSON",
    ),
    (
        "personal id",
        batch(event(contact_id="+7 912 345-67-89")),
        {},
        422,
        "'field': 'contact_id', 'reason': 'looks like a phone number or email",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "kw", "status", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_gets_a_precise_4xx(
    api: tuple[TestClient, dict[str, str]],
    name: str,
    body: bytes,
    kw: dict[str, Any],
    status: int,
    message: str,
) -> None:
    response = post(api, body, **kw)
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])


def test_invalid_batch_reports_every_error_and_counts(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    response = post(api, batch(event(channel="fax"), event(event_id="e-2"), event(type=None)))
    detail = response.json()["detail"]
    assert response.status_code == 422
    assert detail["message"] == "2 of 3 events are invalid; nothing was produced"
    assert [(e["index"], e["field"]) for e in detail["errors"]] == [(0, "channel"), (2, "type")]


def test_partial_acceptance_of_an_all_invalid_batch_publishes_nothing(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = api
    response = client.post(
        "/ingest/events/batch?partial=true",
        content=batch(event(channel="fax")),
        headers={"Authorization": f"Bearer {keys['ingest']}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [
            {"index": 0, "field": "channel", "reason": response.json()["rejected"][0]["reason"]}
        ],
    }


def test_adapter_errors_are_422_with_the_field(api: tuple[TestClient, dict[str, str]]) -> None:
    response = post(
        api,
        orjson.dumps({"event": "ticket.called"}),
        path="/ingest/adapters/queue-ticket?region=tver",
    )
    assert response.status_code == 422
    assert response.json()["detail"]["errors"] == [
        {"index": 0, "field": "ticket", "reason": "required object is missing"}
    ]
    no_region = post(api, b"{}", path="/ingest/adapters/web-form")
    assert no_region.status_code == 422 and "region" in no_region.text
