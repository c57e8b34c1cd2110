"""The staffing plan over HTTP (/v1/staffing/plan, /api/staffing/plan) on a chdb warehouse
seeded with five simulated weeks of two tenants' phone calls, inserted through the sink's row
mappers: the SQL fold equals the pure one, JSON and CSV agree, a key sees only its tenant,
storms lift the plan, and bad input is a 422. Every instant is fixed (``at``)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, parse_timestamp
from schemas.units import DAY_MS, MINUTE_MS
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from services.simulator.generate import generate
from services.simulator.model import SimConfig
from services.sink.rows import TABLE_COLUMNS, event_rows, storm_alert_rows
from services.staffing import history, slots
from services.staffing.plan import COLUMNS

START = parse_timestamp("2026-10-12T00:00:00+03:00")  # a Monday, five weeks before
AT = "2026-11-16T12:10:00+03:00"  # Monday noon
AT_MS = parse_timestamp(AT)
DAY = "2026-11-16"
HEAT, RETAIL = "teploset", "energosbyt"


def _events() -> list[ContactEvent]:
    config = SimConfig(seed=3, start_ms=START, days=(AT_MS - START) / DAY_MS,
                       tenants=(HEAT, RETAIL), load_factor=0.25)
    return [e for e in generate(config) if e.channel is Channel.PHONE]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("staffing_api")
    events = _events()
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    try:
        migrate(warehouse)
        rows = [row for e in events for _, row in event_rows(event_to_datum(e))]
        warehouse.insert("events", TABLE_COLUMNS["events"], rows)
        warehouse.insert("events", TABLE_COLUMNS["events"], rows[::9])  # redelivered
        storm = {"alert_id": "storm-1", "tenant": HEAT, "region": "tver", "scope": "outage",
                 "window_start": AT_MS - 25 * MINUTE_MS, "window_end": AT_MS - 15 * MINUTE_MS,
                 "count": 40, "baseline": 5.0, "threshold": 20.0, "local_hour": 11,
                 "raised_at": AT_MS - 15 * MINUTE_MS}
        warehouse.insert("alerts", TABLE_COLUMNS["alerts"],
                         [row for _, row in storm_alert_rows(storm)])
        settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False,
                                 staffing_shrinkage="0.3,teploset=0.25")
        store = KeyStore(key_store_path(tmp_path))
        now_ms = int(time.time() * 1000)
        _, heat = store.create(HEAT, [Scope.READ], tenant_type=TenantType.HEAT, now_ms=now_ms)
        _, retail = store.create(RETAIL, [Scope.READ], tenant_type=TenantType.GRID,
                                 now_ms=now_ms)
        app = create_app(settings)
        app.state.warehouse = warehouse
        with TestClient(app) as client:
            yield {"client": client, "heat": {"X-API-Key": heat},
                   "retail": {"X-API-Key": retail}, "heat_key": heat,
                   "warehouse": warehouse, "events": events}
    finally:
        warehouse.close()


def _plan(api: dict[str, Any], who: str = "heat", **params: Any) -> Any:
    return api["client"].get("/v1/staffing/plan", params={"at": AT, "date": DAY, **params},
                             headers=api[who])


def test_sql_fold_equals_the_pure_fold(api: dict[str, Any]) -> None:
    lo, hi = START, AT_MS
    got = history.slot_rows(api["warehouse"], HEAT, None, lo, hi, short_abandon_ms=5000)
    want = slots.fold((e for e in api["events"] if lo <= e.occurred_at), HEAT,
                      short_abandon_ms=5000)
    want = [r for r in want if lo <= r.start_ms < hi]
    assert len(got) == len(want) > 1000
    for g, w in zip(got, want, strict=True):
        assert (g.region, g.queue, g.start_ms, g.offered, g.handled, g.abandoned) == (
            w.region, w.queue, w.start_ms, w.offered, w.handled, w.abandoned)
        assert g.handle_s == pytest.approx(w.handle_s, abs=0.01)
        assert g.wait_s == pytest.approx(w.wait_s, abs=0.01)


def test_plan_json(api: dict[str, Any]) -> None:
    r = _plan(api, region="yaroslavl", interval=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenant"] == HEAT and body["shrinkage"] == 0.25
    rows = body["rows"]
    assert len(rows) == 24 and set(COLUMNS) <= set(rows[0])
    assert {row["region"] for row in rows} == {"yaroslavl"}
    assert rows[0]["region_name"] == "Ярославская область"
    assert [row["current"] for row in rows].count(True) == 1 and rows[12]["current"]
    assert rows[12]["interval_start"] == "2026-11-16T12:00+03:00"
    assert all(row["actual_calls"] is not None for row in rows[:13])
    assert all(row["actual_calls"] is None for row in rows[13:])
    peak = rows[10]
    assert peak["forecast_calls"] > 5
    assert 0 < peak["agents_erlang_a"] <= peak["agents_erlang_c"] <= peak["agents_erlang_a"] + 5
    assert peak["agents_rostered"] >= peak["agents_erlang_a"] / 0.75 - 1e-9
    assert peak["patience_s"] is not None and 20 < peak["patience_s"] < 1000
    (region,) = body["regions"]
    (queue,) = region["queues"]
    assert len(queue["reference_days"]) == 5  # the five Mondays before
    assert queue["storm_factor"] is None  # the storm is in tver


def test_storm_lifts_its_region(api: dict[str, Any]) -> None:
    body = _plan(api, region="tver", interval=15).json()
    (queue,) = body["regions"][0]["queues"]
    assert queue["storm_factor"] is not None and queue["storm_factor"] >= 1.0


def test_csv_matches_json(api: dict[str, Any]) -> None:
    r = _plan(api, region="yaroslavl", interval=30, format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 48
    js = _plan(api, region="yaroslavl", interval=30).json()["rows"]
    assert [int(r["agents_erlang_a"]) for r in rows] == [r["agents_erlang_a"] for r in js]


def test_tenant_isolation(api: dict[str, Any]) -> None:
    heat = _plan(api, interval=60).json()
    retail = _plan(api, "retail", interval=60).json()
    assert {r["region"] for r in heat["rows"]} == {"tver", "yaroslavl"}
    assert {r["region"] for r in retail["rows"]} == {"belgorod", "voronezh", "kursk", "lipetsk"}
    assert retail["tenant"] == RETAIL and retail["shrinkage"] == 0.3
    # the other tenant's region: no history of this key's tenant there
    other = _plan(api, "retail", region="yaroslavl", interval=60).json()
    assert sum(r["forecast_calls"] for r in other["rows"]) == 0
    assert all(not r["actual_calls"] for r in other["rows"])
    assert api["client"].get("/v1/staffing/plan").status_code == 401


@pytest.mark.parametrize("params", [
    {"date": "1970-01-02", "at": "1970-01-01T00:00:00Z"},
    {"date": "2299-12-31", "at": "2299-12-30T23:00:00Z"},
    {"date": "2026-11-23"}, {"date": "2025-01-01"}, {"region": "atlantis"},
])
def test_edges_of_time_and_place_answer(api: dict[str, Any], params: dict[str, Any]) -> None:
    r = _plan(api, interval=60, **params)
    assert r.status_code == 200, r.text


def test_a_past_day_shows_forecast_beside_what_happened(api: dict[str, Any]) -> None:
    rows = _plan(api, region="tver", date="2026-11-09", interval=60).json()["rows"]
    assert all(r["actual_calls"] is not None for r in rows) and not any(r["current"] for r in rows)
    assert sum(r["actual_calls"] for r in rows) > 0 and sum(r["forecast_calls"] for r in rows) > 0


def test_board_route_takes_the_login_cookie(api: dict[str, Any]) -> None:
    client = api["client"]
    r = client.get("/api/staffing/plan", params={"at": AT, "region": "tver"},
                   cookies={"kontakt_board_key": api["heat_key"]})
    assert r.status_code == 200, r.text
    assert len(r.json()["rows"]) == 24  # hourly on the board
    assert client.get("/api/staffing/plan").status_code == 401


@pytest.mark.parametrize("params", [
    {"region": "tver'; DROP"}, {"interval": 20}, {"interval": "x"}, {"date": "2026-13-01"},
    {"date": "2026-11-24"}, {"date": "20261-09-01"}, {"at": "yesterday"}, {"queue": "a b"},
    {"at": "1960-01-01T00:00:00Z"},
    {"format": "xml"},
])
def test_bad_input_is_422(api: dict[str, Any], params: dict[str, Any]) -> None:
    r = _plan(api, **params)
    assert r.status_code == 422, r.text


class _Borrowed:
    """The fixture's warehouse, lent to the CLI (which closes what it opens)."""

    def __init__(self, warehouse: ChdbWarehouse) -> None:
        self.warehouse = warehouse

    def query(self, sql: str, params: Any = None) -> Any:
        return self.warehouse.query(sql, params)

    def close(self) -> None:
        pass


def test_cli_prints_the_same_plan(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import services.warehouse
    from services.cli import main as cli_main

    monkeypatch.setattr(services.warehouse, "open_warehouse",
                        lambda settings: _Borrowed(api["warehouse"]))
    cli_main._register()
    runner = CliRunner()
    args = ["staffing", "plan", "--tenant", HEAT, "--region", "yaroslavl", "--date", DAY,
            "--at", AT]
    shown = runner.invoke(cli_main.app, args)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("teploset 2026-11-16: 60-minute intervals, 80% in 40 s")
    assert len(lines) == 2 + 24
    assert [line for line in lines if line.startswith(">")][0].startswith(">12:00-13:00")
    as_csv = runner.invoke(cli_main.app, [*args, "--format", "csv", "--interval", "30"])
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    js = _plan(api, region="yaroslavl", interval=30).json()["rows"]
    assert [int(r["agents_erlang_a"]) for r in rows] == [r["agents_erlang_a"] for r in js]
    bad = runner.invoke(cli_main.app, [*args, "--interval", "20"])
    assert bad.exit_code != 0


class _Unmigrated:
    """A warehouse without tables, as chdb answers one (chdb allows one directory a process)."""

    def query(self, sql: str, params: Any = None) -> Any:
        raise RuntimeError("Code: 60. DB::Exception: Unknown table expression identifier "
                           "'events'. (UNKNOWN_TABLE)")

    def close(self) -> None:
        pass


def test_an_unmigrated_warehouse_is_503_not_500(tmp_path: Any) -> None:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False)
    _, key = KeyStore(key_store_path(tmp_path)).create(
        HEAT, [Scope.READ], tenant_type=TenantType.HEAT, now_ms=int(time.time() * 1000))
    app = create_app(settings)
    app.state.warehouse = _Unmigrated()
    with TestClient(app) as client:
        r = client.get("/v1/staffing/plan", params={"at": AT}, headers={"X-API-Key": key})
    assert r.status_code == 503 and "migrate" in r.json()["detail"]
