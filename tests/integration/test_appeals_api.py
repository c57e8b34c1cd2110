"""The appeal, category and remediation reports of the API on a seeded chdb warehouse
(appeals_seed.py): every figure equals what the pure core computes from the same events and
steps -- customer waits come from the SQL views, not from the core, so the two check each
other -- despite redelivered rows; JSON and CSV; the tenant of the key only; 422 on bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.events import format_timestamp
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from streams.sla.appeals import appeals_from_events, summarise
from streams.sla.regions import region_name
from streams.sla.remediation import (
    complaint_of,
    deadline_status,
    fold_actions,
    load_remediation,
    overdue,
    recurrences,
    root_causes_by_region_month,
)
from tests.integration import appeals_seed as seed

PERIOD = {"from": "2026-09-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
DATA = seed.build()
RULES = load_remediation(None)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("appeals_api")
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    try:
        migrate(warehouse)
        seed.load(warehouse, DATA)
        settings = load_settings(data_dir=tmp_path, sink_in_api=False, query_max_days=400,
                                 board_feed=False)
        store = KeyStore(key_store_path(tmp_path))
        _, key = store.create(seed.TENANT, [Scope.READ], tenant_type=TenantType.GRID,
                              now_ms=seed.NOW)
        _, ingest = store.create(seed.TENANT, [Scope.INGEST], tenant_type=None, now_ms=seed.NOW)
        app = create_app(settings)
        app.state.warehouse = warehouse
        with TestClient(app) as client:
            yield {"client": client, "key": {"X-API-Key": key}, "ingest": {"X-API-Key": ingest},
                   "warehouse": warehouse}
    finally:
        warehouse.close()


def _get(api: dict[str, Any], path: str, **params: Any) -> Any:
    r = api["client"].get(path, params=params, headers=api["key"])
    assert r.status_code == 200, r.text
    return r


def _core_appeals() -> list[Any]:
    """The core's appeals of the tenant that started in PERIOD (linked over all events)."""
    mine = [e for e in DATA.events if e.tenant == seed.TENANT]
    start, end = (seed.parse_timestamp(PERIOD[k]) for k in ("from", "to"))
    return [a for a in appeals_from_events(mine, seed.WINDOW) if start <= a.started_at < end]


def test_appeal_report_by_category_and_channel_matches_the_core(api: dict[str, Any]) -> None:
    want = summarise(_core_appeals(), ["customer_category", "channel"])
    assert sum(r["repeat_appeals"] for r in want) > 5 and sum(r["fcr"] for r in want) > 5
    got = _get(api, "/v1/reports/appeals", **PERIOD, group_by="category,channel").json()
    assert not got["truncated"]
    rows = [{("customer_category" if k == "category" else k): v for k, v in r.items()}
            for r in got["rows"]]  # fmt: skip
    assert len(rows) == len(want)
    for g, w in zip(rows, want, strict=True):
        assert g == pytest.approx(w)


def test_appeal_list_and_csv(api: dict[str, Any]) -> None:
    want = [a for a in _core_appeals() if a.contacts >= 2]
    got = _get(api, "/v1/appeals", **PERIOD, min_contacts=2).json()["rows"]
    assert [(r["appeal_id"], r["contact_ids"], r["wait_ms"], r["first_contact_resolution"])
            for r in got] == [(a.appeal_id, list(a.contact_ids), a.wait_ms, 0)
                              for a in want]  # fmt: skip
    assert [(r["region"], r["region_name"]) for r in got] == [
        (a.region, region_name(a.region)) for a in want]
    text = _get(api, "/v1/appeals", **PERIOD, min_contacts=2, format="csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["contact_ids"] for r in rows] == ["|".join(a.contact_ids) for a in want]
    assert text.splitlines()[0].startswith("appeal_id,started_at,channel,region,region_name,")
    assert {r["region_name"] for r in rows} == {"Курская область", "Тверская область"}


def test_appeal_report_by_region_names_the_regions(api: dict[str, Any]) -> None:
    for lang in ("ru", "en"):
        got = _get(api, "/v1/reports/appeals", **PERIOD, group_by="region", lang=lang).json()
        assert got["rows"] and all(
            r["region_name"] == region_name(r["region"], lang) != r["region"]
            for r in got["rows"])
        assert list(got["rows"][0])[:3] == ["region", "region_name", "appeals"]
        text = _get(api, "/v1/reports/appeals", **PERIOD, group_by="region", lang=lang,
                    format="csv").text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(r["region"], r["region_name"]) for r in rows] == [
            (r["region"], r["region_name"]) for r in got["rows"]]
    assert api["client"].get("/v1/reports/appeals", params={**PERIOD, "lang": "fr"},
                             headers=api["key"]).status_code == 422


def test_tenant_isolation_and_validation(api: dict[str, Any]) -> None:
    ids = {r["appeal_id"] for r in _get(api, "/v1/appeals", **PERIOD).json()["rows"]}
    assert ids and all(i.startswith(seed.TENANT + "-") for i in ids)
    c = api["client"]
    assert c.get("/v1/reports/appeals", params={**PERIOD, "group_by": "agent"},
                 headers=api["key"]).status_code == 422
    assert c.get("/v1/reports/appeals", params={**PERIOD, "region": "x'; DROP"},
                 headers=api["key"]).status_code == 422
    assert c.get("/v1/reports/appeals", params=PERIOD, headers=api["ingest"]).status_code == 403


def test_category_report_puts_priority_groups_next_to_standard(api: dict[str, Any]) -> None:
    rows = _get(api, "/v1/reports/categories", **PERIOD).json()["rows"]
    assert [r["category"] for r in rows] == ["disabled", "veteran", "vulnerable", "standard"]
    assert [r["priority"] for r in rows] == [1, 1, 1, 0]
    want = {r["customer_category"]: r for r in summarise(_core_appeals(), ["customer_category"])}
    for r in rows:
        w = want[r["category"]]
        assert (r["appeals"], r["fcr_rate"]) == (w["appeals"], pytest.approx(w["fcr_rate"]))
        assert r["avg_wait_ms"] == pytest.approx(w["avg_wait_ms"])
        assert r["clocks_decided"] > 0
    csv_text = _get(api, "/v1/reports/categories", **PERIOD, format="csv").text
    assert csv_text.splitlines()[0].startswith("category,priority,clocks_decided")


def _complaints() -> list[Any]:
    per: dict[str, list[Any]] = {}
    for e in DATA.events:
        if e.tenant == seed.TENANT:
            per.setdefault(e.contact_id, []).append(e)
    return [c for evs in per.values() if (c := complaint_of(evs)) is not None]


def test_root_causes_by_region_and_month(api: dict[str, Any]) -> None:
    end = seed.parse_timestamp(PERIOD["to"])
    want = root_causes_by_region_month([c for c in _complaints() if c.received_at < end])
    got = _get(api, "/v1/reports/remediation/root-causes", **PERIOD).json()
    # the region id, then its name (Russian by default), then the figures
    assert [tuple(r.values()) for r in got["rows"]] == [
        (region, region_name(region), *rest) for region, *rest in want]
    assert got["labels"]["meter"] == "Meter fault or reading"
    text = _get(api, "/v1/reports/remediation/root-causes", **PERIOD, format="csv").text
    assert len(text.splitlines()) == len(want) + 1
    assert text.splitlines()[0] == "region,region_name,month,root_cause,complaints"
    en = _get(api, "/v1/reports/remediation/root-causes", **PERIOD, format="csv", lang="en")
    rows = list(csv.DictReader(io.StringIO(en.text)))
    assert [(r["region"], r["region_name"]) for r in rows] == [
        (w[0], region_name(w[0], "en")) for w in want]


@pytest.mark.parametrize("day", ["2026-10-01", "2026-10-25", "2026-11-20"])
def test_overdue_actions(api: dict[str, Any], day: str) -> None:
    at = seed.parse_timestamp(f"{day}T00:00:00Z")
    steps = [s for s in DATA.steps if s.tenant == seed.TENANT and s.at <= at]
    want = overdue(fold_actions(steps, RULES), at)
    got = _get(api, "/v1/reports/remediation/overdue", at=f"{day}T00:00:00Z").json()["rows"]
    assert [(r["action_id"], r["owner"], r["due_at"], r["complaint_ids"]) for r in got] == [
        (a.action_id, a.owner, format_timestamp(a.due_at or 0), list(a.complaint_ids))
        for a in want]  # fmt: skip
    assert all(r["region_name"] == region_name(r["region"]) for r in got)
    if day == "2026-11-20":
        assert want, "the seed should leave some action overdue"
    text = _get(api, "/v1/reports/remediation/overdue", at=f"{day}T00:00:00Z", format="csv").text
    assert len(text.splitlines()) == len(want) + 1


def test_recurrences(api: dict[str, Any]) -> None:
    end = seed.parse_timestamp(PERIOD["to"])
    actions = fold_actions([s for s in DATA.steps if s.tenant == seed.TENANT], RULES)
    want = recurrences([c for c in _complaints() if c.received_at < end], actions)
    assert want, "the seed should contain a recurrence"
    got = _get(api, "/v1/reports/remediation/recurrences", **PERIOD).json()["rows"]
    assert [(r["contact_id"], r["root_cause"], r["action_id"]) for r in got] == [
        (c.contact_id, c.root_cause, a.action_id) for c, a in want]
    assert [(r["region"], r["region_name"]) for r in got] == [
        (c.region, region_name(c.region)) for c, _ in want]


@pytest.mark.parametrize("day", ["2026-10-15", "2026-11-20"])
def test_action_deadlines_follow_the_preset(api: dict[str, Any], day: str) -> None:
    at = seed.parse_timestamp(f"{day}T00:00:00Z")
    steps = [s for s in DATA.steps if s.tenant == seed.TENANT and s.at <= at]
    received = {c.contact_id: c.received_at for c in _complaints()}
    want = []
    for a in fold_actions(steps, RULES):
        first = min((received[c] for c in a.complaint_ids if c in received), default=None)
        status = deadline_status(a, RULES, at, first)
        want.append((a.action_id, status["plan"], status["complete"], status["verify"]))
    got = _get(api, "/v1/reports/remediation/actions", at=f"{day}T00:00:00Z").json()["rows"]
    assert [(r["action_id"], r["plan"], r["complete"], r["verify"]) for r in got] == want
    en = _get(api, "/v1/reports/remediation/actions", at=f"{day}T00:00:00Z", lang="en")
    assert all(r["region_name"] == region_name(r["region"], "en") for r in en.json()["rows"])
    seen = {s for row in want for s in row[1:]}
    if day == "2026-11-20":
        assert {"met", "breached"} <= seen, "the seed should decide deadlines both ways"
        assert {"met", "breached"} <= {row[1] for row in want}, "plan deadlines too"
