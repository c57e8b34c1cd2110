"""Embedded mode: chdb locks its directory to one process, so `kontakt api` runs the sink in a
background thread and shares its one Warehouse with the query routers. Events produced to
Kafka become visible through the API's own endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from tests.integration.sink_helpers import event_payloads, produce, wait_until

pytestmark = pytest.mark.kafka


def test_api_process_runs_the_sink_and_serves_what_it_wrote(
    tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str],
) -> None:
    topic = new_topic(partitions=2)
    warehouse_dir = tmp_path / "warehouse"
    with ChdbWarehouse(warehouse_dir) as warehouse:
        migrate(warehouse)
    settings = load_settings(
        data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
        clickhouse_url=f"chdb://{warehouse_dir}", topic_prefix="", sink_topics=topic,
        sink_group=f"api-{topic}", sink_batch_seconds=0.2,
    )
    _, key = KeyStore(key_store_path(tmp_path)).create(
        "grid-a", [Scope.READ], tenant_type=TenantType.GRID, now_ms=int(time.time() * 1000))
    produce(kafka_bootstrap, topic, event_payloads(400, tenant="grid-a"))

    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.sink is not None and app.state.sink.alive()
        wait_until(lambda: app.state.sink.sink.stats.records >= 400, 60, "the embedded sink")
        timeline = client.get("/v1/contacts/ec7/timeline", headers={"X-API-Key": key})
        assert timeline.status_code == 200, timeline.text
        assert [e["event_id"] for e in timeline.json()["events"]] == [
            "e28", "e29", "e30", "e31"]
        assert client.get("/health").json()["clickhouse"] == "up"
    assert app.state.warehouse is None  # closed by the lifespan with the sink stopped first
    with ChdbWarehouse(warehouse_dir) as warehouse:  # and the directory is free again
        assert warehouse.query("SELECT count() FROM events FINAL") == [(400,)]
