"""Acceptance: 100,000 events through Kafka and `kontakt sink` (a real subprocess on an embedded
chdb warehouse), the sink killed with SIGKILL mid-run and restarted: ClickHouse ends up with
exactly the events produced -- none missing, none counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from tests.integration.sink_helpers import committed, event_payloads, produce, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
N = 100_000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin(kafka_bootstrap: str) -> Iterator[Any]:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    yield client
    client.close()


def _env(tmp_path: Path, bootstrap: str, topic: str, group: str) -> dict[str, str]:
    return {
        **os.environ,
        "KONTAKT_DATA_DIR": str(tmp_path),
        "KONTAKT_KAFKA_BOOTSTRAP": bootstrap,
        "KONTAKT_CLICKHOUSE_URL": f"chdb://{tmp_path / 'warehouse'}",
        "KONTAKT_TOPIC_PREFIX": "",
        "KONTAKT_SINK_TOPICS": topic,
        "KONTAKT_SINK_GROUP": group,
        "KONTAKT_SINK_BATCH_ROWS": "2000",
        "KONTAKT_SINK_BATCH_SECONDS": "0.2",
    }


def _kontakt(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "services.cli.main", *args], cwd=REPO,
                            env=env, stdout=handle, stderr=subprocess.STDOUT)


def test_sigkill_mid_run_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str], admin: Any,
) -> None:
    topic = new_topic(partitions=3)
    group = f"sink-{topic}"
    env = _env(tmp_path, kafka_bootstrap, topic, group)
    log = tmp_path / "sink.log"
    assert _kontakt(env, log, "migrate").wait(120) == 0, log.read_text()

    assert produce(kafka_bootstrap, topic, event_payloads(N)) == N
    progress = lambda: committed(admin, group, [topic])  # noqa: E731

    first = _kontakt(env, log, "sink")
    try:
        wait_until(lambda: progress() >= N // 4 or first.poll() is not None, 120,
                   "the sink to commit a quarter of the events")
        assert first.poll() is None, log.read_text()
        first.send_signal(signal.SIGKILL)  # no flush, no commit, no goodbye
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = progress()
    assert 0 < at_kill < N, f"the kill should land mid-run ({at_kill} committed)"

    second = _kontakt(env, log, "sink")
    try:
        wait_until(lambda: progress() >= N or second.poll() is not None, 180,
                   "the restarted sink to commit every event")
        assert second.poll() is None, log.read_text()
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()

    warehouse = ChdbWarehouse(tmp_path / "warehouse")  # the sink process has exited
    try:
        raw, exact, distinct, lowest, highest = warehouse.query(
            "SELECT (SELECT count() FROM events), count(), uniqExact(event_id), "
            "min(toUInt64(substring(event_id, 2))), max(toUInt64(substring(event_id, 2))) "
            "FROM events FINAL")[0]
    finally:
        warehouse.close()
    print(f"\nsink crash: committed {at_kill} at SIGKILL; raw rows {raw} "
          f"({raw - N} redelivered duplicates), FINAL rows {exact}")
    assert (exact, distinct) == (N, N)  # exactly what was produced
    assert (lowest, highest) == (0, N - 1)  # and no gaps: N distinct ids out of 0..N-1
    assert raw >= N
