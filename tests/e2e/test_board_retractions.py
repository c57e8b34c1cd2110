"""Corrections on the board in a real headless Chromium against the real API (its own
LiveBoard, no broker): a breach retracted before the page opened is struck through with
"отозвано: звонок принят вовремя"; one retracted while the page is open is struck through live
and leaves the at-risk list; an open clock past its due instant (the worker has not judged it
yet, it waits for late data) reads "ожидаем данные", not "просрочено"; English texts too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.settings import load_settings
from tests.e2e import test_board_category_filter as category_filter
from tests.fixtures.browser import log_in
from tests.fixtures.served import serve_app

pytestmark = [pytest.mark.slow]
page = category_filter.page  # the same Chromium fixture


def _alert(contact: str, kind: str, now: int) -> dict[str, Any]:
    return {"alert_id": f"a-{contact}", "alert": kind, "threshold": 0.5 if kind == "warning"
            else None, "contact_id": contact, "milestone": "phone.answer",
            "status": "breached" if kind == "breached" else "open",
            "started_at": now - 60_000, "due_at": now - 20_000, "stopped_at": None,
            "elapsed_ms": 60_000, "target_ms": 40_000, "raised_at": now - 20_000,
            "tenant": "mrsk", "region": "tver", "channel": "phone", "contact_kind": "inquiry",
            "customer_category": "standard", "office": None}  # fmt: skip


def _retraction(contact: str, now: int) -> dict[str, Any]:
    return {"retraction_id": f"r-{contact}", "alert_id": f"a-{contact}", "contact_id": contact,
            "milestone": "phone.answer", "status": "met", "reason": "answered in time, read late",
            "started_at": now - 60_000, "due_at": now - 20_000, "stopped_at": now - 25_000,
            "elapsed_ms": 35_000, "target_ms": 40_000, "retracted_at": now, "tenant": "mrsk",
            "region": "tver", "channel": "phone", "contact_kind": "inquiry",
            "customer_category": "standard", "office": None}  # fmt: skip


@pytest.fixture
def board_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False)
    now = int(time.time() * 1000)
    _, key = KeyStore(key_store_path(tmp_path)).create(
        "mrsk", [Scope.READ], tenant_type=TenantType.GRID, now_ms=now)
    app = create_app(settings)
    loops: list[asyncio.AbstractEventLoop] = []

    @app.get("/_test/loop")
    async def _loop() -> dict[str, str]:
        loops.append(asyncio.get_running_loop())
        return {}

    with serve_app(app) as url:
        board = app.state.board
        board.apply("SlaAlertRaised", _alert("call-early", "breached", now))
        board.apply("SlaAlertRetracted", _retraction("call-early", now))
        board.apply("SlaAlertRaised", _alert("call-live", "breached", now))
        board.apply("SlaAlertRaised", _alert("call-waiting", "warning", now))
        httpx.get(f"{url}/_test/loop", timeout=10)

        def feed(name: str, datum: dict[str, Any]) -> None:
            """Fold and publish on the server's loop, as services.alerts.feed does."""
            loops[0].call_soon_threadsafe(
                lambda: app.state.board_hub.publish(board.apply(name, datum)))

        yield {"url": url, "key": key, "feed": feed, "now": now}


def test_retractions_are_struck_through_and_unjudged_clocks_await_data(
    board_api: dict[str, Any], page: Any
) -> None:
    log_in(page, board_api["url"], board_api["key"])
    page.wait_for_selector("#feed li[data-contact=call-live]", timeout=10_000)
    page.wait_for_timeout(400)  # renders are coalesced every 150 ms

    early = page.inner_text("#feed li.is-retracted[data-contact=call-early]")
    assert "отозвано: звонок принят вовремя" in early
    assert page.query_selector("#feed li[data-contact=call-early] button.ack") is None
    struck = page.eval_on_selector("#feed li[data-contact=call-early] .contact",
                                   "e => getComputedStyle(e).textDecorationLine")
    assert struck == "line-through"
    waiting = page.inner_text("#risks li[data-contact=call-waiting] .countdown")
    assert waiting == "ожидаем данные"
    assert "просрочено" in page.inner_text("#risks li[data-contact=call-live] .countdown")
    assert page.query_selector("#risks li[data-contact=call-early]") is None

    board_api["feed"]("SlaAlertRetracted", _retraction("call-live", board_api["now"]))
    page.wait_for_selector("#feed li.is-retracted[data-contact=call-live]", timeout=10_000)
    page.wait_for_selector("#risks li[data-contact=call-live]", state="detached", timeout=5_000)
    # kept in place: nothing left the feed, nothing moved
    assert page.eval_on_selector_all("#feed li", "ns => ns.map(n => n.dataset.contact)") == [
        "call-waiting", "call-live", "call-early"]

    page.click("#lang-en")
    page.wait_for_timeout(700)
    assert "retracted: call answered in time" in page.inner_text(
        "#feed li[data-contact=call-live]")
    assert page.inner_text("#risks li[data-contact=call-waiting] .countdown") == "awaiting data"
