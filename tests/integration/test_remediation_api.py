"""POST /v1/remediation on the real broker: a planned and a completed step land on the
acknowledgements topic as RemediationRecorded records, the sink writes them to ClickHouse, and
the overdue report sees the action while it is open and past due, and not once completed.
Unknown causes, missing regions and the wrong scope are refused before anything is sent."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.codec import decode
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.settings import load_settings
from services.sink.batch import BatchLimits
from services.sink.runner import Sink, SinkConfig
from tests.fixtures.worker import wait_until

pytestmark = pytest.mark.kafka


def _sink_all(warehouse: ChdbWarehouse, bootstrap: str, topic: str, want: int) -> None:
    sink, stop = Sink(warehouse, SinkConfig(bootstrap, [topic], f"g-{topic}-{time.time()}",
                                            BatchLimits(100, 0.2))), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: sink.stats.records >= want or not thread.is_alive(), 60)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(30)


def test_steps_reach_the_warehouse_and_the_overdue_report(
    tmp_path: Path, kafka_bootstrap: str, read_records: Any, migrated_warehouse: ChdbWarehouse
) -> None:
    from services.topics import apply_topics

    settings = load_settings(data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
                             topic_prefix=f"rm{uuid.uuid4().hex[:8]}.", topic_partitions=1,
                             sink_in_api=False, board_feed=False)  # fmt: skip
    list(apply_topics(settings))
    topic = settings.topic("acknowledgements")
    store = KeyStore(key_store_path(tmp_path))
    _, writer = store.create("mrsk", [Scope.INGEST], tenant_type=TenantType.GRID, now_ms=0)
    _, reader = store.create("mrsk", [Scope.READ], tenant_type=TenantType.GRID, now_ms=0)
    app = create_app(settings)
    app.state.warehouse = migrated_warehouse
    plan = {"action_id": "act-1", "step": "planned", "by": "lead", "root_cause": "meter",
            "region": "tver", "owner": "ivanov", "due": "2026-11-10T00:00:00Z",
            "complaint_ids": ["c-9", "c-7"], "at": "2026-11-01T09:00:00Z", "request_id": "r1"}
    done = {"action_id": "act-1", "step": "completed", "by": "lead",
            "at": "2026-11-12T09:00:00Z", "request_id": "r2"}  # fmt: skip
    with TestClient(app) as client:
        w, r = {"X-API-Key": writer}, {"X-API-Key": reader}
        bad = [{**plan, "root_cause": "gremlins"}, {**plan, "region": ""}]
        assert [client.post("/v1/remediation", json=b, headers=w).status_code
                for b in bad] == [422, 422]  # fmt: skip
        assert client.post("/v1/remediation", json=plan, headers=r).status_code == 403
        sent = client.post("/v1/remediation", json=plan, headers=w)
        assert sent.status_code == 202, sent.text
        records = read_records(topic)
        assert [(rec.key, decode(rec.value)[0]) for rec in records] == [
            (b"c-9", "RemediationRecorded")]
        _sink_all(migrated_warehouse, kafka_bootstrap, topic, 1)

        def overdue(at: str) -> list[dict[str, Any]]:
            res = client.get("/v1/reports/remediation/overdue", params={"at": at}, headers=r)
            assert res.status_code == 200, res.text
            return res.json()["rows"]

        (row,) = overdue("2026-11-11T12:00:00Z")
        assert (row["action_id"], row["owner"], row["hours_overdue"], row["complaint_ids"]) \
            == ("act-1", "ivanov", 36, ["c-7", "c-9"])
        assert overdue("2026-11-09T00:00:00Z") == []
        assert client.post("/v1/remediation", json=done, headers=w).status_code == 202
        _sink_all(migrated_warehouse, kafka_bootstrap, topic, 2)
        assert overdue("2026-11-13T00:00:00Z") == []
