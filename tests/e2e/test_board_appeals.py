"""Live appeals on the board in a real headless Chromium: the real API (uvicorn, chdb, the
board's own LiveBoard) holds a breach of a customer's second call about one matter and the
AppealUpdated records the worker would send; the breach and at-risk items say it is a repeat
("повторное: 2-е обращение за 2 дн."), and the customer-time panel puts the veteran next to
everyone else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.units import DAY_MS, MINUTE_MS
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from tests.e2e.test_board_category_filter import _alert
from tests.fixtures.browser import log_in, russian_page
from tests.fixtures.served import serve_app

pytestmark = [pytest.mark.slow]


@pytest.fixture
def page() -> Iterator[Any]:
    with russian_page() as tab:
        yield tab


def _appeal(appeal_id: str, ids: list[str], received: list[int], category: str,
            wait_ms: int, fcr: bool) -> dict[str, Any]:
    return {"update_id": appeal_id, "tenant": "mrsk", "appeal_id": appeal_id,
            "customer_ref": f"cust-{appeal_id}", "topic": "outage", "channel": "phone",
            "region": "tver", "office": None, "customer_category": category,
            "started_at": received[0], "contact_ids": ids, "contact_received_at": received,
            "wait_ms": wait_ms, "waiting_open": False, "resolved": fcr,
            "first_contact_resolution": fcr, "window_ms": 7 * DAY_MS,
            "linked_at": received[-1]}  # fmt: skip


@pytest.fixture
def board_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False)
    _, key = KeyStore(key_store_path(tmp_path)).create(
        "mrsk", [Scope.READ], tenant_type=TenantType.GRID, now_ms=int(time.time() * 1000))
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    migrate(warehouse)
    app = create_app(settings)
    app.state.warehouse = warehouse
    try:
        with serve_app(app) as url:
            now = int(time.time() * 1000)
            board = app.state.board
            board.apply("SlaAlertRaised", _alert("call-2", "standard", now))
            board.apply("AppealUpdated", _appeal(
                "call-1", ["call-1", "call-2"], [now - 2 * DAY_MS, now - MINUTE_MS], "standard",
                4 * MINUTE_MS, False))
            board.apply("AppealUpdated", _appeal("vet-1", ["vet-1"], [now - 3 * MINUTE_MS],
                                                 "veteran", MINUTE_MS, True))
            yield {"url": url, "key": key}
    finally:
        warehouse.close()


def test_repeat_contacts_and_customer_time_by_category(
    board_api: dict[str, Any], page: Any
) -> None:
    log_in(page, board_api["url"], board_api["key"])
    page.wait_for_selector("#feed li[data-contact=call-2]", timeout=10_000)
    for where in ("#feed", "#risks"):
        meta = page.inner_text(f"{where} li[data-contact=call-2] .meta")
        assert "повторное: 2-е обращение за 2 дн." in meta, meta
    rows = page.eval_on_selector_all(
        "#customer-time tbody tr", "rs => rs.map(r => [r.dataset.category, "
        "...[...r.children].map(c => c.textContent)])")
    assert [r[0] for r in rows] == ["veteran", "standard"]  # priority groups first
    assert rows[0][1:] == ["Ветераны", "1", "1:00", "1.00", "100\xa0%"]
    assert rows[1][1:3] == ["Остальные", "1"] and rows[1][4] == "2.00"
    page.click("#lang-en") if page.query_selector("#lang-en") else None
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]  # the new panel adds no horizontal scrolling
