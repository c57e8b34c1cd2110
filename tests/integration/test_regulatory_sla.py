"""The regulatory report's service levels on a real chdb warehouse: a grid company whose own
policy is stricter than order 186 reports the order-186 figure (its contacts re-evaluated under
the minenergo-186 preset), with its own beside it; a heat company reports its own.

The seed's outcomes are what the worker would have written under each tenant's own policy (the
pure core evaluates the seeded events, the sink's row mapper writes them), so the two figures
differ only by the rules: an office wait of 20 minutes breaches the tenants' 10-minute target
and meets order 186's 30 minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, EventType, parse_timestamp
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from services.sink.rows import TABLE_COLUMNS, event_rows, outcome_rows
from streams.emissions import outcome_record, signature
from streams.sla.clock import evaluate
from streams.sla.policy import Policy, load_policy
from streams.sla.state import build_state

GRID, HEAT = "grid-strict", "heat-own"
MIN = 60_000
#: (contact, first event, office wait in minutes): 2026 in Moscow time, and one 2025 visit
VISITS = [("v1", "2026-03-02T09:00:00Z", 20), ("v2", "2026-03-02T10:00:00Z", 5),
          ("v3", "2026-06-01T09:00:00Z", 40), ("old", "2025-12-31T20:00:00Z", 20)]
#: a fixed instant after every event: the worker's evaluation time of the seeded outcomes
EVALUATED_AT = parse_timestamp("2027-01-10T00:00:00Z")


def strict_policy() -> Policy:
    """The tenants' own rules: order 186 with a 10-minute office queue, as version 1."""
    preset = load_policy("minenergo-186")
    milestones = tuple(replace(m, target_ms=10 * MIN) if m.id == "office.wait" else m
                       for m in preset.milestones)
    return replace(preset, name="office-10-min", milestones=milestones, version=1)


def visit(tenant: str, contact: str, first: str, wait_min: int) -> list[ContactEvent]:
    t0 = parse_timestamp(first)
    steps = [(EventType.RECEIVED, t0), (EventType.QUEUED, t0),
             (EventType.ANSWERED, t0 + wait_min * MIN), (EventType.CLOSED, t0 + 60 * MIN)]
    return [ContactEvent(event_id=f"{contact}-{n}", contact_id=contact, tenant=tenant,
                         region="tver", channel=Channel.IN_PERSON, type=etype, occurred_at=at,
                         office="tver-1") for n, (etype, at) in enumerate(steps)]


def seed(warehouse: ChdbWarehouse) -> None:
    policy = strict_policy()
    for tenant in (GRID, HEAT):
        for contact, first, wait in VISITS:
            events = visit(tenant, contact, first, wait)
            rows = [row for e in events for _, row in event_rows(event_to_datum(e))]
            warehouse.insert("events", TABLE_COLUMNS["events"], rows)
            warehouse.insert("events", TABLE_COLUMNS["events"], rows[:2])  # redelivered
            outcomes = [row for o in evaluate(build_state(events), policy, EVALUATED_AT)
                        for _, row in outcome_rows(outcome_record(o, signature(o),
                                                                  EVALUATED_AT))]
            warehouse.insert("outcomes", TABLE_COLUMNS["outcomes"], outcomes)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path: Path = tmp_path_factory.mktemp("regulatory")
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    try:
        migrate(warehouse)
        seed(warehouse)
        settings = load_settings(data_dir=tmp_path, sink_in_api=False)
        store = KeyStore(key_store_path(tmp_path))
        _, grid = store.create(GRID, [Scope.READ], tenant_type=TenantType.GRID, now_ms=1)
        _, heat = store.create(HEAT, [Scope.READ], tenant_type=TenantType.HEAT, now_ms=1)
        app = create_app(settings)
        app.state.warehouse = warehouse
        with TestClient(app) as client:
            yield {"client": client, "grid": {"X-API-Key": grid}, "heat": {"X-API-Key": heat}}
    finally:
        warehouse.close()


def _levels(api: dict[str, Any], who: str, **params: Any) -> dict[str, Any]:
    r = api["client"].get("/v1/reports/regulatory", headers=api[who],
                          params={"year": 2026, **params})
    assert r.status_code == 200, r.text
    return r.json()["service_levels"]


def _counts(figures: dict[str, Any] | None) -> tuple[int, int, int] | None:
    return None if figures is None else (figures["total"], figures["met"], figures["breached"])


def test_the_own_policy_judged_the_seeded_outcomes() -> None:
    """The premise: v1 waited 20 minutes, over the tenants' own 10-minute target."""
    [waited] = [o for o in evaluate(build_state(visit(GRID, *VISITS[0])), strict_policy(),
                                    EVALUATED_AT) if o.milestone == "office.wait"]
    assert (waited.status.value, waited.target_ms, waited.policy_version) == (
        "breached", 10 * MIN, 1)


def test_a_grid_company_reports_order_186_whatever_its_own_targets(api: dict[str, Any]) -> None:
    levels = _levels(api, "grid")
    assert (levels["basis"], levels["contacts"]) == ("minenergo-186", 3)  # the 2025 visit: no
    assert levels["as_of"] == "2026-06-01T10:00:00.000Z"
    [office] = [r for r in levels["rows"] if r["milestone"] == "office.wait"]
    # order 186, 30 minutes: v1 (20) and v2 (5) met, v3 (40) breached
    assert _counts(office["regulatory"]) == _counts(office["minenergo_186"]) == (3, 2, 1)
    assert office["regulatory"]["service_level"] == pytest.approx(2 / 3)
    # its own 10 minutes, as the outcomes say: only v2 met
    assert _counts(office["own_policy"]) == (3, 1, 2)
    assert office["own_policy"]["service_level"] == pytest.approx(1 / 3)


def test_a_heat_company_reports_its_own_policy(api: dict[str, Any]) -> None:
    levels = _levels(api, "heat")
    assert (levels["basis"], levels["contacts"], levels["as_of"]) == ("own_policy", 3, None)
    [office] = [r for r in levels["rows"] if r["milestone"] == "office.wait"]
    assert _counts(office["regulatory"]) == _counts(office["own_policy"]) == (3, 1, 2)
    assert "minenergo_186" not in office


def test_service_levels_follow_the_region_filter_and_can_be_left_out(
    api: dict[str, Any],
) -> None:
    elsewhere = _levels(api, "grid", region="kursk")
    assert (elsewhere["contacts"], elsewhere["rows"]) == (0, [])
    r = api["client"].get("/v1/reports/regulatory", headers=api["grid"],
                          params={"year": 2026, "service_levels": "false"})
    assert r.status_code == 200 and "service_levels" not in r.json()
    in_person = {row["channel"]: row for row in r.json()["rows"]}["in_person"]
    assert in_person["2026"]["appeals"] == 3 and in_person["2025"]["appeals"] == 1
