"""With the platform up (`kontakt up`: broker, worker, API owning the chdb warehouse), the
commands that need the warehouse go through the API instead of failing "in use by another
process": `kontakt sql` (operator token, or a tenant's key), `kontakt appeals link` and
`kontakt backfill` exit 0 and their figures are in the warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.events import format_timestamp
from tests.fixtures.kafka import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _env(data_dir: Path) -> dict[str, str]:
    kafka_port = free_port()
    env = {**os.environ, "KONTAKT_DATA_DIR": str(data_dir),
           "KONTAKT_KAFKA_PORT": str(kafka_port),
           "KONTAKT_KAFKA_CONTROLLER_PORT": str(free_port()),
           "KONTAKT_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}", "KONTAKT_KAFKA_HEAP": "256m",
           "KONTAKT_API_PORT": str(free_port()), "KONTAKT_TOPIC_PARTITIONS": "2"}
    env.pop("KONTAKT_CLICKHOUSE_URL", None)
    env.pop("KONTAKT_API_KEY", None)
    return env


def kontakt(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _key(env: dict[str, str], tenant: str) -> str:
    made = kontakt(env, "keys", "create", "--tenant", tenant, "--type", "grid",
                   "--scope", "ingest", "--scope", "read")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def _events(tenant: str, now_ms: int) -> list[dict[str, Any]]:
    """Two contacts of one matter (the e-mail follows up the call: one appeal), one more of
    another customer. Each names its customer, so the worker's live linking and the rebuild
    agree whichever writes last (docs/appeals.md "Stream and rebuild agree")."""
    def ev(cid: str, channel: str, etype: str, minutes: int, **extra: Any) -> dict[str, Any]:
        return {"event_id": f"{tenant}-{cid}-{etype}", "contact_id": f"{tenant}-{cid}",
                "tenant": tenant, "region": "tver", "channel": channel, "type": etype,
                "occurred_at": format_timestamp(now_ms - 3_600_000 + minutes * 60_000),
                **extra}
    first, second = {"account": f"{tenant}-1"}, {"account": f"{tenant}-2"}
    return [ev("c1", "phone", "queued", 0, customer=first),
            ev("c1", "phone", "answered", 1, customer=first),
            ev("c2", "email", "received", 10, related_to=f"{tenant}-c1", customer=first),
            ev("c3", "phone", "queued", 20, customer=second)]


def _sql(env: dict[str, str], query: str, *extra: str) -> list[list[Any]]:
    done = kontakt(env, "sql", query, "--format", "json", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["rows"]


def test_sql_appeals_link_and_backfill_while_the_platform_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "kontakt"
    env = _env(data_dir)
    base = f"http://127.0.0.1:{env['KONTAKT_API_PORT']}"
    try:
        up = kontakt(env, "up", "--health-timeout", "120")
        assert up.returncode == 0, up.stdout + up.stderr
        keys = {tenant: _key(env, tenant) for tenant in ("mrsk", "other")}
        now_ms = int(time.time() * 1000)
        for tenant, key in keys.items():
            r = httpx.post(f"{base}/ingest/events/batch", json=_events(tenant, now_ms),
                           headers={"X-API-Key": key}, timeout=30)
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 60
        while _sql(env, "SELECT uniqExact(event_id) FROM events") != [[8]]:
            assert time.monotonic() < deadline, "the sink did not store the events"
            time.sleep(0.5)
        # a tenant's key sees its own rows only, through the API
        assert _sql(env, "SELECT DISTINCT tenant FROM events", "--key", keys["mrsk"]) == [
            ["mrsk"]]
        r = httpx.post(f"{base}/v1/sql", headers={"X-API-Key": keys["other"]}, timeout=30,
                       json={"query": "SELECT count() FROM events WHERE tenant = 'mrsk'"})
        assert r.status_code == 200 and r.json()["rows"] == [[0]], r.text

        started = time.monotonic()
        link = kontakt(env, "appeals", "link")
        print(f"appeals link through the API: {time.monotonic() - started:.1f} s")
        assert link.returncode == 0, link.stdout + link.stderr
        assert "linked 6 contacts into 4 appeals" in link.stdout, link.stdout
        assert "run by the API" in link.stdout
        # each contact's newest link (the worker links live too; appeal_links keeps both)
        figures = _sql(env, "SELECT tenant, uniqExact(contact_id), uniqExact(appeal) FROM "
                       "(SELECT tenant, contact_id, argMax(appeal_id, linked_at) AS appeal "
                       "FROM appeal_links GROUP BY tenant, contact_id) "
                       "GROUP BY tenant ORDER BY tenant")
        assert figures == [["mrsk", 3, 2], ["other", 3, 2]], figures

        started = time.monotonic()
        filled = kontakt(env, "backfill", "--tenant", "mrsk")
        print(f"backfill through the API: {time.monotonic() - started:.1f} s")
        assert filled.returncode == 0, filled.stdout + filled.stderr
        assert "backfill: 3 contacts" in filled.stdout and "run by the API" in filled.stdout
        assert _sql(env, "SELECT count() FROM contacts FINAL WHERE tenant = 'mrsk'") == [[3]]

        refused = kontakt(env, "sql", "DROP TABLE events")
        assert refused.returncode == 2 and "HTTP 400" in refused.stderr, refused.stderr
    finally:
        down = kontakt(env, "down")
        assert down.returncode == 0, down.stdout + down.stderr
    assert not (data_dir / "run" / "api.token").exists()
