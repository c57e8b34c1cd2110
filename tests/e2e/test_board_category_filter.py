"""The board's category filter in a real headless Chromium: the real API (uvicorn, chdb, the
board's own LiveBoard) holds a breach of a disabled customer's call and one of a standard
customer's; choosing "priority", "standard" or a single category shows exactly the matching
feed and risk items, the choice survives a reload, and priority items name their category."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from tests.fixtures.browser import log_in, russian_page
from tests.fixtures.served import serve_app

pytestmark = [pytest.mark.slow]


@pytest.fixture
def page() -> Iterator[Any]:
    """A Russian-locale page of Debian's chromium (tests/fixtures/browser.py)."""
    with russian_page() as tab:
        yield tab


def _alert(contact: str, category: str, now: int) -> dict[str, Any]:
    return {"alert_id": f"a-{contact}", "alert": "breached", "threshold": None,
            "contact_id": contact, "milestone": "phone.answer", "status": "breached",
            "started_at": now - 60_000, "due_at": now - 20_000, "stopped_at": None,
            "elapsed_ms": 60_000, "target_ms": 40_000, "raised_at": now - 20_000,
            "tenant": "mrsk", "region": "tver", "channel": "phone", "contact_kind": "inquiry",
            "customer_category": category, "office": None}  # fmt: skip


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
            for contact, category in (("call-disabled", "disabled"), ("call-standard", "standard")):
                app.state.board.apply("SlaAlertRaised", _alert(contact, category, now))
            yield {"url": url, "key": key}
    finally:
        warehouse.close()


def _shown(page: Any, selector: str) -> list[str]:
    return sorted(page.eval_on_selector_all(selector, "ns => ns.map(n => n.dataset.contact)"))


def test_category_filter_on_feed_and_risks(board_api: dict[str, Any], page: Any) -> None:
    log_in(page, board_api["url"], board_api["key"])
    page.wait_for_selector("#feed li[data-contact=call-standard]", timeout=10_000)
    both = ["call-disabled", "call-standard"]
    assert _shown(page, "#feed li") == both and _shown(page, "#risks li") == both
    for choice, want in (("priority", ["call-disabled"]), ("disabled", ["call-disabled"]),
                         ("veteran", []), ("standard", ["call-standard"]), ("", both)):
        page.select_option("#f-category", choice)
        page.wait_for_timeout(400)  # renders are coalesced every 150 ms
        assert _shown(page, "#feed li") == want, choice
        assert _shown(page, "#risks li") == want, choice
    page.select_option("#f-category", "priority")
    page.reload()
    page.wait_for_selector("#conn[data-state=live]", timeout=20_000)
    page.wait_for_timeout(400)
    assert page.input_value("#f-category") == "priority"
    assert _shown(page, "#feed li") == ["call-disabled"]
    assert "Инвалиды" in page.inner_text("#feed li[data-contact=call-disabled] .meta")
