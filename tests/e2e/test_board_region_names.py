"""Region names on the board in a real headless Chromium: the real API (uvicorn, the board's
own LiveBoard, no broker) holds a queue group, breaches and a storm in Tver and Kursk oblasts
and one breach in a region the table does not know. The page shows "Тверская область" where
it used to show ``tver``, "Tver Oblast" after the EN switch (no reconnect needed), the unknown
region as its id, and the region filter still sends ids."""

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


def _alert(contact: str, region: str, now: int) -> dict[str, Any]:
    return {"alert_id": f"a-{contact}", "alert": "breached", "threshold": None,
            "contact_id": contact, "milestone": "phone.answer", "status": "breached",
            "started_at": now - 60_000, "due_at": now - 20_000, "stopped_at": None,
            "elapsed_ms": 60_000, "target_ms": 40_000, "raised_at": now - 20_000,
            "tenant": "mrsk", "region": region, "channel": "phone", "contact_kind": "inquiry",
            "customer_category": "standard", "office": None}  # fmt: skip


def _metrics(region: str, now: int) -> dict[str, Any]:
    return {"snapshot_id": f"m-{region}", "partition": 0, "tenant": "mrsk", "channel": "phone",
            "region": region, "office": None, "window": "15m", "window_start": now - 300_000,
            "window_end": now + 600_000, "taken_at": now, "offered": 4, "answered": 3,
            "answered_in_threshold": 3, "abandoned": 0, "short_abandoned": 0, "breaches": 1,
            "waiting": 1, "longest_wait_ms": 5_000, "asa_ms": 10_000.0,
            "service_level": 0.75}  # fmt: skip


def _storm(region: str, now: int) -> dict[str, Any]:
    return {"alert_id": f"storm-{region}", "tenant": "mrsk", "region": region,
            "scope": "outage", "window_start": now - 660_000, "window_end": now - 60_000,
            "count": 90, "baseline": 10.0, "threshold": 30.0, "local_hour": 9,
            "raised_at": now - 60_000}  # fmt: skip


@pytest.fixture
def board_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False)
    # instants relative to now: the board drops storms an hour old and risks 12 hours overdue
    now = int(time.time() * 1000)
    _, key = KeyStore(key_store_path(tmp_path)).create(
        "mrsk", [Scope.READ], tenant_type=TenantType.GRID, now_ms=now)
    app = create_app(settings)
    with serve_app(app) as url:
        board = app.state.board
        for contact, region in (("call-tver", "tver"), ("call-kursk", "kursk"),
                                ("call-nowhere", "atlantis")):
            board.apply("SlaAlertRaised", _alert(contact, region, now))
        board.apply("MetricsSnapshotTaken", _metrics("tver", now))
        board.apply("OutageStormSuspected", _storm("kursk", now))
        yield {"url": url, "key": key}


def _meta(tab: Any, contact: str) -> str:
    return str(tab.inner_text(f"#feed li[data-contact={contact}] .meta"))


def _options(tab: Any) -> list[tuple[str, str]]:
    return [tuple(o) for o in tab.eval_on_selector_all(
        "#f-region option", "os => os.map(o => [o.value, o.textContent])")]


def test_the_board_shows_region_names_in_russian_and_english(
    board_api: dict[str, Any], page: Any
) -> None:
    log_in(page, board_api["url"], board_api["key"])
    page.wait_for_selector("#feed li[data-contact=call-nowhere]", timeout=10_000)
    page.wait_for_timeout(400)  # renders are coalesced every 150 ms

    assert "Тверская область" in _meta(page, "call-tver")
    assert "Курская область" in _meta(page, "call-kursk")
    assert "atlantis" in _meta(page, "call-nowhere")  # not in the table: its id
    assert "Тверская область" in page.inner_text("#risks li[data-contact=call-tver] .meta")
    assert page.inner_text("#groups td[data-region=tver]") == "Тверская область"
    assert "Курская область" in page.inner_text(".storm strong")
    # the filter: ids as values (they go to the server), names as texts, in the language's
    # alphabetical order (Russian collation puts Cyrillic first)
    assert _options(page)[1:] == [("kursk", "Курская область"), ("tver", "Тверская область"),
                                  ("atlantis", "atlantis")]

    page.click("#lang-en")
    page.wait_for_timeout(400)
    assert "Tver Oblast" in _meta(page, "call-tver")
    assert "Kursk Oblast" in _meta(page, "call-kursk")
    assert page.inner_text("#groups td[data-region=tver]") == "Tver Oblast"
    assert "Kursk Oblast" in page.inner_text(".storm strong")
    assert _options(page)[1:] == [("atlantis", "atlantis"), ("kursk", "Kursk Oblast"),
                                  ("tver", "Tver Oblast")]

    page.select_option("#f-region", "tver")
    page.wait_for_selector("#feed li[data-contact=call-kursk]", state="detached",
                           timeout=10_000)
    page.wait_for_timeout(400)
    assert page.input_value("#f-region") == "tver"
    assert page.eval_on_selector_all("#feed li", "ns => ns.map(n => n.dataset.contact)") == [
        "call-tver"]
    assert "Tver Oblast" in _meta(page, "call-tver")
