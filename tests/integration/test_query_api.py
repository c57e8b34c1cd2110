"""The analytics API on a real chdb warehouse seeded with two tenants (analytics_seed.py).

For every endpoint: the figures are exact despite duplicated rows and older revisions, and
tenant A's key never sees tenant B's rows. Malicious or unbounded filters get 4xx.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from tests.integration import analytics_seed as seed

PERIOD = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One seeded warehouse and app for the module (the tests only read)."""
    tmp_path = tmp_path_factory.mktemp("query_api")
    now_ms = int(time.time() * 1000)
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    try:
        migrate(warehouse)
        seed.seed(warehouse, now_ms)
        yield from _app(tmp_path, warehouse, now_ms)
    finally:
        warehouse.close()


def _app(tmp_path: Path, warehouse: ChdbWarehouse, now_ms: int) -> Iterator[dict[str, Any]]:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, query_max_days=400)
    store = KeyStore(key_store_path(tmp_path))
    _, key_a = store.create(seed.A, [Scope.READ], tenant_type=TenantType.GRID, now_ms=now_ms)
    _, key_b = store.create(seed.B, [Scope.READ], tenant_type=TenantType.HEAT, now_ms=now_ms)
    _, ingest_only = store.create(seed.A, [Scope.INGEST], tenant_type=None, now_ms=now_ms)
    app = create_app(settings)
    app.state.warehouse = warehouse  # the lifespan uses it and leaves it open
    with TestClient(app) as client:
        yield {
            "client": client,
            "a": {"X-API-Key": key_a},
            "b": {"X-API-Key": key_b},
            "ingest": {"X-API-Key": ingest_only},
        }


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


# --- compliance report ---------------------------------------------------------------------


def test_compliance_by_channel_is_exact_under_duplicates_and_revisions(api: dict[str, Any]) -> None:
    r = api["client"].get(
        "/v1/reports/sla", params={**PERIOD, "group_by": "channel"}, headers=api["a"]
    )
    assert r.status_code == 200, r.text
    rows = _by(r.json()["rows"], "channel")
    assert set(rows) == {"phone", "email", "in_person"}
    phone = rows["phone"]
    assert (phone["total"], phone["met"], phone["breached"], phone["open"]) == (3, 2, 1, 0)
    assert phone["service_level"] == pytest.approx(2 / 3)
    assert phone["mean_elapsed_s"] == pytest.approx((30 + 60 + 20) / 3)
    assert rows["email"]["met"] == 1 and rows["in_person"]["breached"] == 1


def test_compliance_filters_and_multi_group_by(api: dict[str, Any]) -> None:
    params = {**PERIOD, "channel": "phone", "region": ["tver", "kursk"], "group_by": "region,day"}
    r = api["client"].get("/v1/reports/sla", params=params, headers=api["a"])
    assert r.status_code == 200, r.text
    rows = _by(r.json()["rows"], "region", "day")
    assert rows[("tver", "2026-03-10")]["total"] == 2
    assert rows[("kursk", "2026-03-11")]["met"] == 1
    office = api["client"].get(
        "/v1/reports/sla",
        headers=api["a"],
        params={**PERIOD, "office": "tver-1", "category": "veteran", "group_by": "office"},
    )
    assert [(x["office"], x["breached"]) for x in office.json()["rows"]] == [("tver-1", 1)]


def test_compliance_by_policy_version_compares_like_with_like(api: dict[str, Any]) -> None:
    """Each clock under the version that judged it; a3's older revision (the same version)
    does not count, and a5, judged by the platform default, is version 0."""
    r = api["client"].get("/v1/reports/sla", headers=api["a"],
                          params={**PERIOD, "group_by": "policy_version,policy"})
    assert r.status_code == 200, r.text
    assert r.json()["group_by"] == ["policy_version", "policy"]
    rows = [(x["policy_version"], x["policy"], x["total"], x["met"], x["breached"])
            for x in r.json()["rows"]]
    assert rows == [(0, "rao-ues-2007", 1, 0, 1), (1, "rao-ues-2007", 3, 2, 1),
                    (2, "kursk-strict", 1, 1, 0)]
    by_milestone = api["client"].get("/v1/reports/sla", headers=api["a"], params={
        **PERIOD, "group_by": "policy_version,milestone", "milestone": "phone.answer"})
    assert [(x["policy_version"], x["milestone"], x["service_level"])
            for x in by_milestone.json()["rows"]] == [
        (1, "phone.answer", 0.5), (2, "phone.answer", 1.0)]


def test_the_daily_table_does_not_keep_the_policy_version(api: dict[str, Any]) -> None:
    r = api["client"].get("/v1/reports/sla/daily", headers=api["a"], params={
        "from": "2026-03-01", "to": "2026-03-31", "group_by": "policy_version"})
    assert r.status_code == 422 and "/v1/reports/sla" in r.text


def test_compliance_csv(api: dict[str, Any]) -> None:
    r = api["client"].get(
        "/v1/reports/sla",
        headers=api["a"],
        params={**PERIOD, "group_by": "milestone", "format": "csv"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("milestone,total,met,breached")
    assert any(line.startswith("phone.answer,3,2,1,0,0,") for line in lines[1:])


def test_compliance_names_regions_in_json_and_csv(api: dict[str, Any]) -> None:
    """Rows keep the region id and add its name after it: Russian by default, lang=en."""
    params = {**PERIOD, "group_by": "region"}
    ru = api["client"].get("/v1/reports/sla", params=params, headers=api["a"]).json()["rows"]
    assert [(r["region"], r["region_name"]) for r in ru] == [
        ("kursk", "Курская область"), ("tver", "Тверская область")]
    assert list(ru[0])[:2] == ["region", "region_name"]
    en = api["client"].get("/v1/reports/sla", params={**params, "lang": "en"},
                           headers=api["a"]).json()["rows"]
    assert [(r["region"], r["region_name"]) for r in en] == [
        ("kursk", "Kursk Oblast"), ("tver", "Tver Oblast")]
    assert [r["total"] for r in en] == [r["total"] for r in ru]
    for lang, tver in (("ru", "Тверская область"), ("en", "Tver Oblast")):
        r = api["client"].get("/v1/reports/sla", headers=api["a"],
                              params={**params, "format": "csv", "lang": lang})
        assert r.status_code == 200, r.text
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert r.text.splitlines()[0].startswith("region,region_name,total,met,breached")
        assert {x["region"]: x["region_name"] for x in rows}["tver"] == tver
    # no region column, no region_name; an unknown language is refused
    by_channel = api["client"].get("/v1/reports/sla", params={**PERIOD, "group_by": "channel"},
                                   headers=api["a"]).json()["rows"]
    assert all("region_name" not in r for r in by_channel)
    bad = api["client"].get("/v1/reports/sla", params={**params, "lang": "de"}, headers=api["a"])
    assert bad.status_code == 422


def test_compliance_tenant_isolation(api: dict[str, Any]) -> None:
    a = api["client"].get("/v1/reports/sla", params=PERIOD, headers=api["a"]).json()["rows"]
    b = api["client"].get("/v1/reports/sla", params=PERIOD, headers=api["b"]).json()["rows"]
    assert a[0]["total"] == 5
    assert (b[0]["total"], b[0]["breached"]) == (2, 2)  # only B's two clocks, none of A's


@pytest.mark.parametrize(
    "params",
    [
        {**PERIOD, "region": "tver' OR 1=1 --"},
        {**PERIOD, "office": "x; DROP TABLE events"},
        {**PERIOD, "milestone": "phone.answer') UNION SELECT * FROM system.tables --"},
        {**PERIOD, "channel": "phone OR 1"},
        {**PERIOD, "category": "standard'"},
        {**PERIOD, "group_by": "tenant"},
        {**PERIOD, "group_by": "channel, (SELECT 1)"},
        {"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},  # huge range
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},  # reversed
        {"from": "yesterday", "to": "2026-03-01T00:00:00Z"},
        {"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00Z"},  # no offset
        {**PERIOD, "format": "xml"},
        {"to": "2026-03-01T00:00:00Z"},
    ],
)
def test_compliance_rejects_malicious_or_unbounded_filters(
    api: dict[str, Any], params: dict[str, Any]
) -> None:
    r = api["client"].get("/v1/reports/sla", params=params, headers=api["a"])
    assert r.status_code == 422, r.text


# --- plain dates (analysts' from/to) -----------------------------------------------------------


def _totals(api: dict[str, Any], **params: Any) -> Any:
    r = api["client"].get("/v1/reports/sla", params=params, headers=api["a"])
    assert r.status_code == 200, r.text
    return r.json()


def test_plain_dates_are_local_days_and_to_includes_its_day(api: dict[str, Any]) -> None:
    # A's clocks: four start on 10 March (09:00-11:00 UTC), a3 on 11 March 09:00 UTC
    tenth = _totals(api, **{"from": "2026-03-10", "to": "2026-03-10"})
    assert tenth["rows"][0]["total"] == 4
    assert (tenth["from"], tenth["to"]) == ("2026-03-10", "2026-03-10")  # echoed as asked
    assert _totals(api, **{"from": "2026-03-10", "to": "2026-03-11"})["rows"][0]["total"] == 5
    assert _totals(api, **{"from": "2026-03-11", "to": "2026-03-11"})["rows"][0]["total"] == 1
    # the same as the instants of Moscow midnights: [10 March 00:00+03:00, 12 March 00:00+03:00)
    instants = {"from": "2026-03-10T00:00:00+03:00", "to": "2026-03-12T00:00:00+03:00"}
    assert _totals(api, **instants)["rows"] == _totals(
        api, **{"from": "2026-03-10", "to": "2026-03-11"})["rows"]


def test_plain_dates_follow_the_zone_of_the_region(api: dict[str, Any]) -> None:
    """kursk's a3 starts 2026-03-11T09:00Z, on the 11th in Moscow time. The seed has no clocks
    in other zones: for novosibirsk this only shows the dates are read (in Asia/Novosibirsk,
    test_report_dates.py has the arithmetic) and filtered by region."""
    kursk = _totals(api, **{"from": "2026-03-11", "to": "2026-03-11", "region": "kursk"})
    assert kursk["rows"][0]["total"] == 1
    nsk = _totals(api, **{"from": "2026-03-10", "to": "2026-03-10", "region": "novosibirsk"})
    assert nsk["rows"][0]["total"] == 0


@pytest.mark.parametrize(("params", "names"), [
    ({"from": "2026-13-01", "to": "2026-03-07"}, "from"),
    ({"from": "2026-03-01", "to": "2026-03-07 12:00"}, "to"),
    ({"from": "2026-03-01", "to": "0001-01-01"}, "to"),
    ({"from": "2026-03-08", "to": "2026-03-07"}, "to must be later than from"),
    ({"from": "2026-03-01", "to": "2026-03-07", "region": ["tver", "novosibirsk"]},
     "time zones"),
])
def test_bad_plain_dates_are_a_422_naming_the_parameter(
    api: dict[str, Any], params: dict[str, Any], names: str
) -> None:
    r = api["client"].get("/v1/reports/sla", params=params, headers=api["a"])
    assert r.status_code == 422, r.text
    assert names in r.json()["detail"]


def test_the_openapi_says_how_plain_dates_are_read(api: dict[str, Any]) -> None:
    spec = api["client"].get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/v1/reports/sla"]["get"]["parameters"]}
    assert "plain date" in params["from"]["description"]
    assert "included whole" in params["to"]["description"]
    assert params["to"]["schema"]["pattern"].startswith("^(19[7-9]")


def test_every_endpoint_needs_a_read_key(api: dict[str, Any]) -> None:
    client = api["client"]
    paths = [
        "/v1/reports/sla?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z",
        "/v1/reports/sla/daily?from=2026-03-01&to=2026-03-02",
        "/v1/contacts/a1/timeline",
        "/v1/reports/regulatory?year=2026",
        "/v1/metrics/live",
    ]
    for path in paths:
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "kk_nope_nope"}).status_code == 401
        assert client.get(path, headers=api["ingest"]).status_code == 403


# --- contact timeline ------------------------------------------------------------------------


def test_timeline_dedupes_events_and_alerts(api: dict[str, Any]) -> None:
    r = api["client"].get("/v1/contacts/a2/timeline", headers=api["a"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["event_id"] for e in body["events"]] == ["a2-e1", "a2-e2"]
    assert body["events"][0]["occurred_at"] == "2026-03-10T10:00:00.000Z"
    assert [(c["milestone"], c["status"]) for c in body["clocks"]] == [("phone.answer", "breached")]
    # which of the tenant's policy versions judged the clock
    assert [(c["policy"], c["policy_version"]) for c in body["clocks"]] == [("rao-ues-2007", 1)]
    assert [a["alert"] for a in body["alerts"]] == ["breached"]


def test_timeline_events_name_their_region(api: dict[str, Any]) -> None:
    ru = api["client"].get("/v1/contacts/a3/timeline", headers=api["a"]).json()["events"]
    assert {(e["region"], e["region_name"]) for e in ru} == {("kursk", "Курская область")}
    en = api["client"].get("/v1/contacts/a3/timeline", params={"lang": "en"},
                           headers=api["a"]).json()["events"]
    assert {e["region_name"] for e in en} == {"Kursk Oblast"}


def test_timeline_shows_the_newest_revision(api: dict[str, Any]) -> None:
    body = api["client"].get("/v1/contacts/a3/timeline", headers=api["a"]).json()
    assert [(c["milestone"], c["status"], c["elapsed_ms"]) for c in body["clocks"]] == [
        ("phone.answer", "met", 20_000)
    ]


def test_timeline_tenant_isolation(api: dict[str, Any]) -> None:
    b = api["client"].get("/v1/contacts/b1/timeline", headers=api["b"])
    assert b.status_code == 200 and [e["event_id"] for e in b.json()["events"]] == ["b1-e1"]
    assert api["client"].get("/v1/contacts/a2/timeline", headers=api["b"]).status_code == 404


@pytest.mark.parametrize("contact", ["a2' OR '1'='1", "a2;--", 'x"y', "a\\b"])
def test_timeline_rejects_malformed_ids(api: dict[str, Any], contact: str) -> None:
    r = api["client"].get(f"/v1/contacts/{contact}/timeline", headers=api["a"])
    assert r.status_code == 422


# --- regulatory report -----------------------------------------------------------------------


def test_regulatory_report_year_over_year(api: dict[str, Any]) -> None:
    r = api["client"].get("/v1/reports/regulatory", params={"year": 2026}, headers=api["a"])
    assert r.status_code == 200, r.text
    rows = _by(r.json()["rows"], "channel")
    # phone 2026: a2, a3, r1 (complaint), r4 (new year in local time); 2025: r3
    assert rows["phone"]["2026"] == {"appeals": 4, "complaints": 1, "service_requests": 0}
    assert rows["phone"]["2025"] == {"appeals": 1, "complaints": 0, "service_requests": 0}
    assert rows["phone"]["change"]["appeals"] == 3
    assert rows["email"]["2026"] == {"appeals": 1, "complaints": 0, "service_requests": 1}
    assert rows["web"]["2026"]["appeals"] == 0


def test_regulatory_tenant_isolation(api: dict[str, Any]) -> None:
    b = _by(
        api["client"]
        .get("/v1/reports/regulatory", params={"year": 2026}, headers=api["b"])
        .json()["rows"],
        "channel",
    )
    assert b["phone"]["2026"] == {"appeals": 4, "complaints": 3, "service_requests": 0}
    assert b["email"]["2026"]["appeals"] == 0


@pytest.mark.parametrize(
    "params", [{"year": "2026 OR 1=1"}, {"year": 1900}, {"year": 2026, "region": "tver'--"}, {}]
)
def test_regulatory_rejects_bad_filters(api: dict[str, Any], params: dict[str, Any]) -> None:
    r = api["client"].get("/v1/reports/regulatory", params=params, headers=api["a"])
    assert r.status_code == 422


# --- live metrics ----------------------------------------------------------------------------


def test_live_metrics_sum_newest_snapshot_per_partition(api: dict[str, Any]) -> None:
    r = api["client"].get("/v1/metrics/live", headers=api["a"])
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["offered"], row["answered_within_target"]) == (20, 15)
    assert row["service_level"] == pytest.approx(15 / 20)
    assert row["asa_seconds"] == pytest.approx(10.0)
    assert row["longest_wait_seconds"] == pytest.approx(10.0)
    assert (row["region"], row["region_name"]) == ("tver", "Тверская область")
    en = api["client"].get("/v1/metrics/live", params={"lang": "en"}, headers=api["a"])
    assert [x["region_name"] for x in en.json()["rows"]] == ["Tver Oblast"]


def test_live_metrics_tenant_isolation_and_filters(api: dict[str, Any]) -> None:
    b = api["client"].get("/v1/metrics/live", headers=api["b"]).json()["rows"]
    assert [(x["offered"], x["answered_within_target"]) for x in b] == [(100, 1)]
    none = api["client"].get("/v1/metrics/live", params={"region": "kursk"}, headers=api["a"])
    assert none.status_code == 200 and none.json()["rows"] == []
    for bad in ({"window": "1d"}, {"channel": "fax"}, {"region": "tver' --"}):
        assert (
            api["client"].get("/v1/metrics/live", params=bad, headers=api["a"]).status_code == 422
        )


# --- minute-fresh daily report ----------------------------------------------------------------

def _refresh(api: dict[str, Any]) -> None:
    warehouse = api["client"].app.state.warehouse
    warehouse.execute("SYSTEM REFRESH VIEW sl_daily_refresh")
    warehouse.execute("SYSTEM WAIT VIEW sl_daily_refresh")


def test_daily_report_equals_the_exact_report(api: dict[str, Any]) -> None:
    _refresh(api)
    group = "channel,region,milestone,day"
    for key in ("a", "b"):  # and each tenant sees only its own clocks
        exact = api["client"].get("/v1/reports/sla", headers=api[key],
                                  params={**PERIOD, "group_by": group}).json()["rows"]
        r = api["client"].get("/v1/reports/sla/daily", headers=api[key], params={
            "from": "2026-03-01", "to": "2026-03-31", "group_by": group})  # to is included
        assert r.status_code == 200, r.text
        daily = r.json()
        assert daily["refreshed_at"] is not None
        fields = ("channel", "region", "milestone", "day", "total", "met", "breached",
                  "service_level", "mean_elapsed_s")
        assert [tuple(row[f] for f in fields) for row in daily["rows"]] == [
            tuple(row[f] for f in fields) for row in exact]
        assert daily["rows"]
        assert [row["region_name"] for row in daily["rows"]] == [
            row["region_name"] for row in exact]
    en = api["client"].get("/v1/reports/sla/daily", headers=api["a"], params={
        "from": "2026-03-01", "to": "2026-04-01", "group_by": "region", "lang": "en"})
    assert {r["region"]: r["region_name"] for r in en.json()["rows"]}["tver"] == "Tver Oblast"


@pytest.mark.parametrize("params", [
    {"from": "2026-03-01", "to": "2026-04-01", "group_by": "office"},
    {"from": "2026-03-01", "to": "2026-04-01", "region": "tver'--"},
    {"from": "2026-03-01'", "to": "2026-04-01"},
    {"from": "2000-01-01", "to": "2026-04-01"},
])
def test_daily_report_rejects_bad_filters(api: dict[str, Any], params: dict[str, Any]) -> None:
    r = api["client"].get("/v1/reports/sla/daily", params=params, headers=api["a"])
    assert r.status_code == 422, r.text
