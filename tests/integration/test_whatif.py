"""What-if over stored history (API endpoint and `kontakt sla whatif`): the same contacts
re-evaluated under a candidate policy next to the policy in force, tenant-scoped, bounded."""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, EventType, parse_timestamp
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from services.sink.rows import TABLE_COLUMNS, event_rows
from streams.sla.presets import __file__ as presets_init

T0 = parse_timestamp("2026-03-10T09:00:00Z")
PERIOD = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


def _call(tenant: str, n: int, wait_s: int) -> list[ContactEvent]:
    start = T0 + n * 3_600_000
    common = {"contact_id": f"{tenant}-{n}", "tenant": tenant, "region": "tver",
              "channel": Channel.PHONE}
    return [
        ContactEvent(event_id=f"{tenant}-{n}-q", type=EventType.QUEUED, occurred_at=start,
                     **common),  # type: ignore[arg-type]
        ContactEvent(event_id=f"{tenant}-{n}-a", type=EventType.ANSWERED,
                     occurred_at=start + wait_s * 1000, **common),  # type: ignore[arg-type]
    ]


# tenant A: waits 10, 35, 45, 50 s -> 2 of 4 met at 40 s, 1 of 4 at 30 s; B: 35 s -> met
EVENTS = [e for n, w in enumerate((10, 35, 45, 50)) for e in _call("grid-a", n, w)] + [
    e for n in range(3) for e in _call("heat-b", n, 35)
]


def phone_30s_policy() -> str:
    text = (Path(presets_init).parent / "rao-ues-2007.toml").read_text(encoding="utf-8")
    return text.replace('name = "rao-ues-2007"', 'name = "phone-30s"').replace(
        'target = "40s"', 'target = "30s"')


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("whatif")
    with ChdbWarehouse(root / "warehouse") as warehouse:
        migrate(warehouse)
        rows = [row for e in EVENTS for _, row in event_rows(event_to_datum(e))]
        rows.append(rows[0])  # a redelivered event: the fold ignores it
        warehouse.insert("events", TABLE_COLUMNS["events"], rows)
    yield root


@pytest.fixture
def client(warehouse_dir: Path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    settings = load_settings(data_dir=warehouse_dir, sink_in_api=False,
                             clickhouse_url=f"chdb://{warehouse_dir / 'warehouse'}",
                             whatif_max_days=40)
    store = KeyStore(key_store_path(warehouse_dir))
    now = int(time.time() * 1000)
    _, a = store.create("grid-a", [Scope.READ], tenant_type=TenantType.GRID, now_ms=now)
    _, b = store.create("heat-b", [Scope.READ], tenant_type=TenantType.HEAT, now_ms=now)
    with TestClient(create_app(settings)) as c:
        yield c, {"X-API-Key": a}, {"X-API-Key": b}


def _phone(body: dict[str, Any]) -> dict[str, Any]:
    (row,) = [r for r in body["rows"] if r["milestone"] == "phone.answer"]
    return row


def test_api_whatif_phone_target_30s(client: Any) -> None:
    c, key_a, _ = client
    r = c.post("/v1/sla/whatif", headers=key_a,
               json={**PERIOD, "policy": phone_30s_policy(), "actual": "rao-ues-2007"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contacts"] == 4
    row = _phone(body)
    assert (row["total"], row["actual_met"], row["whatif_met"]) == (4, 2, 1)
    assert (row["actual_sl"], row["whatif_sl"], row["delta_sl"]) == (0.5, 0.25, -0.25)
    assert (row["actual_target_s"], row["whatif_target_s"]) == (40, 30)
    assert body["summary"] == [
        "if phone.answer's target were 30 s, SL would have been 25.0% (actual 50.0% at 40 s)"]


def test_api_whatif_rows_name_their_region(client: Any) -> None:
    c, key_a, _ = client
    for lang, name in (("ru", "Тверская область"), ("en", "Tver Oblast")):
        r = c.post("/v1/sla/whatif", headers=key_a, params={"lang": lang},
                   json={**PERIOD, "policy": phone_30s_policy(), "actual": "rao-ues-2007",
                         "group_by": ["region"]})
        assert r.status_code == 200, r.text
        row = next(x for x in r.json()["rows"] if x["milestone"] == "phone.answer")
        assert (row["region"], row["region_name"], row["total"]) == ("tver", name, 4)


def test_api_whatif_takes_the_policy_as_json_too(client: Any) -> None:
    """The policy file's mapping as a JSON object (PolicyDoc) gives the same answer as its TOML
    text; a plain-date period is read as Moscow days, `to` included."""
    c, key_a, _ = client
    doc = tomllib.loads(phone_30s_policy())
    body = {"from": "2026-03-01", "to": "2026-03-31", "actual": "rao-ues-2007"}
    as_json = c.post("/v1/sla/whatif", headers=key_a, json={**body, "policy": doc})
    as_toml = c.post("/v1/sla/whatif", headers=key_a,
                     json={**body, "policy": phone_30s_policy()})
    assert as_json.status_code == 200, as_json.text
    assert as_json.json() == as_toml.json()
    assert _phone(as_json.json())["whatif_target_s"] == 30
    bad = {**doc, "milestones": [{**doc["milestones"][0], "start": "teleported"}]}
    r = c.post("/v1/sla/whatif", headers=key_a, json={**body, "policy": bad})
    assert r.status_code == 422 and "start" in r.text


def test_api_whatif_is_tenant_scoped(client: Any) -> None:
    c, _, key_b = client
    body = c.post("/v1/sla/whatif", headers=key_b,
                  json={**PERIOD, "policy": phone_30s_policy()}).json()
    row = _phone(body)
    assert (body["contacts"], row["total"], row["actual_sl"], row["whatif_sl"]) == (3, 3, 1, 0)


@pytest.mark.parametrize("patch", [
    {"policy": "/etc/passwd"},  # a path is never read
    {"policy": "name = 'x'\n[[milestones]]\nid = 1"},
    {"policy": "not toml ]["},
    {"from": "2020-01-01T00:00:00Z"},  # longer than whatif_max_days
    {"to": "2026-02-01T00:00:00Z"},  # reversed
    {"group_by": ["region; DROP TABLE events"]},
    {"group_by": ["tenant"]},
])
def test_api_whatif_rejects_bad_requests(client: Any, patch: dict[str, Any]) -> None:
    c, key_a, _ = client
    r = c.post("/v1/sla/whatif", headers=key_a,
               json={**PERIOD, "policy": phone_30s_policy(), **patch})
    assert r.status_code == 422, r.text


def test_api_whatif_needs_a_read_key(client: Any) -> None:
    c, _, _ = client
    assert c.post("/v1/sla/whatif", json={**PERIOD, "policy": "rao-ues-2007"}).status_code == 401


def test_cli_whatif_prints_both_reports(
    warehouse_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cli import main as cli_main

    policy = tmp_path / "phone-30s.toml"
    policy.write_text(phone_30s_policy(), encoding="utf-8")
    monkeypatch.setenv("KONTAKT_CLICKHOUSE_URL", f"chdb://{warehouse_dir / 'warehouse'}")
    monkeypatch.setenv("KONTAKT_SLA_POLICY", "rao-ues-2007")
    cli_main._register()
    result = CliRunner().invoke(cli_main.app, [
        "sla", "whatif", "--policy", str(policy), "--tenant", "grid-a",
        "--from", PERIOD["from"], "--to", PERIOD["to"]])
    assert result.exit_code == 0, result.output
    assert "4 contacts; actual = rao-ues-2007, what-if = phone-30s" in result.output
    assert re.search(r"phone\.answer\s+40\.000\s+4\s+2\s+2\s+0\.500\s+1\s+3\s+0\.250",
                     result.output), result.output
    assert ("if phone.answer's target were 30 s, SL would have been 25.0% "
            "(actual 50.0% at 40 s)") in result.output
