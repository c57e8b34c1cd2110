"""Outage-storm banners in a real headless Chromium: two tenants of one region storm; a read key
sees only its own tenant's banner and no region-wide switch; a key with the region-storms scope
gets the switch, and with it on also sees the other tenant's storm, named and without buttons
(that tenant acknowledges its own)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.settings import load_settings
from tests.e2e import test_board_category_filter as category_filter
from tests.fixtures.browser import log_in
from tests.fixtures.served import serve_app

pytestmark = [pytest.mark.slow]
page = category_filter.page  # the same Chromium fixture


def _storm(tenant: str, now: int) -> dict[str, Any]:
    return {"alert_id": f"storm-{tenant}", "tenant": tenant, "region": "tver", "scope": "outage",
            "window_start": now - 660_000, "window_end": now - 60_000, "count": 90,
            "baseline": 10.0, "threshold": 30.0, "local_hour": 9, "raised_at": now - 60_000}


@pytest.fixture
def board_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False)
    store = KeyStore(key_store_path(tmp_path))
    now = int(time.time() * 1000)
    _, read = store.create("mrsk", [Scope.READ], tenant_type=TenantType.GRID, now_ms=now)
    _, wide = store.create("mrsk", [Scope.READ, Scope.REGION_STORMS], tenant_type=None,
                           now_ms=now)
    app = create_app(settings)
    with serve_app(app) as url:
        for tenant in ("mrsk", "tns"):
            app.state.board.apply("OutageStormSuspected", _storm(tenant, now))
        yield {"url": url, "read": read, "wide": wide}


def _login(tab: Any, url: str, key: str) -> None:
    log_in(tab, url, key)
    tab.wait_for_selector(".storm", timeout=10_000)
    tab.wait_for_timeout(400)  # renders are coalesced every 150 ms


def _banners(tab: Any) -> list[str]:
    return sorted(tab.eval_on_selector_all(".storm", "ns => ns.map(n => n.dataset.tenant)"))


def test_a_read_key_sees_only_its_own_storm(board_api: dict[str, Any], page: Any) -> None:
    _login(page, board_api["url"], board_api["read"])
    assert _banners(page) == ["mrsk"]
    assert page.is_hidden("#region-storms")


def test_the_region_wide_switch_shows_every_tenants_storm(
    board_api: dict[str, Any], page: Any,
) -> None:
    _login(page, board_api["url"], board_api["wide"])
    assert _banners(page) == ["mrsk"]  # the own view until asked
    assert page.is_visible("#region-storms")
    page.check("#f-region-storms")
    page.wait_for_selector(".storm[data-tenant=tns]", timeout=10_000)
    page.wait_for_timeout(400)
    assert _banners(page) == ["mrsk", "tns"]
    assert "tns" in page.inner_text(".storm[data-tenant=tns] strong")
    assert page.query_selector(".storm[data-tenant=tns] button.ack") is None
    assert page.query_selector(".storm[data-tenant=mrsk] button.ack") is not None
    page.reload()  # the choice is kept
    page.wait_for_selector(".storm[data-tenant=tns]", timeout=20_000)
