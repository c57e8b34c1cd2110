"""Acknowledgement endpoints against the real broker: the events on the acknowledgements topic,
their keys, a storm's acknowledgement, retries recognisable by request_id, and a clean 503 with
Retry-After when Kafka cannot take the event."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from schemas.codec import decode, encode
from services.alerts.router import router as alerts_router
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.settings import Settings, load_settings
from services.topics import apply_topics
from tests.fixtures.kafka import free_port

pytestmark = pytest.mark.kafka
T0 = 1_790_000_000_000


def board_app(settings: Settings) -> tuple[FastAPI, str]:
    store = KeyStore(key_store_path(settings.data_dir))
    _, key = store.create("mrsk-center", [Scope.READ], tenant_type=TenantType.GRID, now_ms=T0)
    app = FastAPI()
    app.state.settings = settings
    app.include_router(alerts_router)
    return app, key


def seed(app: FastAPI) -> None:
    feed = app.state.board_feed
    feed.handle(encode("SlaAlertRaised", {
        "alert_id": "sla-1", "alert": "breached", "threshold": None, "contact_id": "c-77",
        "milestone": "phone.answer", "status": "breached", "started_at": T0,
        "due_at": T0 + 40_000, "stopped_at": None, "elapsed_ms": 40_000, "target_ms": 40_000,
        "raised_at": T0 + 40_000, "tenant": "mrsk-center", "region": "tver", "channel": "phone",
        "contact_kind": "inquiry", "customer_category": "standard", "office": None}))
    feed.handle(encode("OutageStormSuspected", {
        "alert_id": "storm-1", "tenant": "mrsk-center", "region": "tver", "scope": "outage",
        "window_start": T0,
        "window_end": T0 + 600_000, "count": 90, "baseline": 10.0, "threshold": 30.0,
        "local_hour": 9, "raised_at": T0 + 600_000}))


@pytest.fixture
def live(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[TestClient, str, Settings]]:
    settings = load_settings(kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path,
                             topic_prefix=f"acks{uuid.uuid4().hex[:8]}.", topic_partitions=1,
                             board_feed=False)
    apply_topics(settings)
    app, key = board_app(settings)
    with TestClient(app) as client:
        seed(app)
        yield client, key, settings


def test_ack_and_follow_up_are_events_on_the_topic(
    live: tuple[TestClient, str, Settings], read_records: Callable[..., list[Any]]
) -> None:
    client, key, settings = live
    headers = {"X-API-Key": key}
    res = client.post("/api/alerts/sla-1/ack",
                      json={"by": "  Петрова ", "note": "перезвоню", "request_id": "r-1"},
                      headers=headers)
    assert res.status_code == 202, res.text
    res = client.post("/api/alerts/storm-1/ack", json={}, headers=headers)
    assert res.status_code == 202
    res = client.post("/api/alerts/sla-1/follow-up", json={"action": "escalated"},
                      headers=headers)
    assert res.status_code == 202
    bad = client.post("/api/alerts/sla-1/follow-up", json={"action": "ignored"}, headers=headers)
    assert bad.status_code == 422
    assert client.post("/api/alerts/nope/ack", json={}, headers=headers).status_code == 404

    records = read_records(settings.topic("acknowledgements"))
    decoded = [(r.key, *decode(r.value)) for r in records]
    assert [(k, name) for k, name, _ in decoded] == [
        (b"c-77", "AlertAcknowledged"), (b"storm-1", "AlertAcknowledged"),
        (b"c-77", "FollowUpMarked")]
    ack, storm_ack, follow = (d for _, _, d in decoded)
    assert (ack["ack_id"], ack["acknowledged_by"], ack["note"]) == ("r-1", "Петрова", "перезвоню")
    assert (ack["tenant"], ack["region"], ack["channel"]) == ("mrsk-center", "tver", "phone")
    assert abs(ack["acknowledged_at"] - time.time() * 1000) < 30_000
    key_id = key.split("_")[1]
    assert (storm_ack["tenant"], storm_ack["acknowledged_by"]) == ("mrsk-center", key_id)
    assert (follow["action"], follow["contact_id"], follow["key_id"]) == (
        "escalated", "c-77", key_id)


def test_kafka_down_is_a_503_with_retry_after(tmp_path: Path) -> None:
    settings = load_settings(kafka_bootstrap=f"127.0.0.1:{free_port()}", data_dir=tmp_path,
                             board_feed=False)
    app, key = board_app(settings)
    with TestClient(app) as client:
        seed(app)
        began = time.monotonic()
        res = client.post("/api/alerts/sla-1/ack", json={}, headers={"X-API-Key": key})
        assert res.status_code == 503 and res.headers["Retry-After"] == "5"
        assert time.monotonic() - began < 20
