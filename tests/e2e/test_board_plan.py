"""The staffing plan panel on the board in a real headless Chromium: the real API (uvicorn, no
broker) over a chdb warehouse holding five weeks of one tenant's phone calls in Tver oblast and
another tenant's in Kursk. The panel is in Russian, lists today's hourly intervals of the
key's tenant only, highlights the current one and shows actual calls next to the forecast for
the hours gone by. The history is laid out relative to the wall clock (the server plans for
"now"), and nothing asserted depends on the hour it runs at."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, EventType
from schemas.units import DAY_MS, HOUR_MS, SECOND_MS
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from services.sink.rows import TABLE_COLUMNS, event_rows
from tests.e2e import test_board_category_filter as category_filter
from tests.fixtures.browser import log_in
from tests.fixtures.served import serve_app

pytestmark = [pytest.mark.slow]
page = category_filter.page  # the same Chromium fixture
MOSCOW = ZoneInfo("Europe/Moscow")


def _calls(tenant: str, region: str, now: int) -> list[tuple[Any, ...]]:
    """Four calls an hour by day (08-20 local), one by night, for 35 days up to ``now``."""
    rows: list[tuple[Any, ...]] = []
    first = now - now % HOUR_MS - 35 * DAY_MS
    for hour in range(first, now, HOUR_MS):
        local = datetime.fromtimestamp(hour / 1000, MOSCOW).hour
        for n in range(4 if 8 <= local < 20 else 1):
            queued = hour + n * 600 * SECOND_MS
            if queued >= now:
                break
            contact = f"{tenant}-{queued}"
            steps = [(EventType.QUEUED, queued), (EventType.ANSWERED, queued + 30 * SECOND_MS),
                     (EventType.CLOSED, queued + 210 * SECOND_MS)]
            for i, (kind, at) in enumerate(steps):
                if at < now:
                    event = ContactEvent(f"{contact}-{i}", contact, tenant, region,
                                         Channel.PHONE, kind, at, queue="main")
                    rows += [row for _, row in event_rows(event_to_datum(event))]
    return rows


@pytest.fixture
def plan_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False)
    now = int(time.time() * 1000)
    _, key = KeyStore(key_store_path(tmp_path)).create(
        "mrsk", [Scope.READ], tenant_type=TenantType.GRID, now_ms=now)
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    try:
        migrate(warehouse)
        warehouse.insert("events", TABLE_COLUMNS["events"],
                         _calls("mrsk", "tver", now) + _calls("other", "kursk", now))
        app = create_app(settings)
        app.state.warehouse = warehouse  # the lifespan uses it and leaves it open
        with serve_app(app) as url:
            yield {"url": url, "key": key, "now": now}
    finally:
        warehouse.close()


def test_plan_panel_shows_today_with_the_current_interval(
    plan_api: dict[str, Any], page: Any
) -> None:
    log_in(page, plan_api["url"], plan_api["key"], live=False)
    page.wait_for_selector("#plan tbody tr", timeout=20_000)

    assert page.inner_text("#plan-title") == "План на сегодня: прогноз и операторы"
    assert "Эрланг A" in page.inner_text("#plan thead")
    rows = page.eval_on_selector_all("#plan tbody tr", "rs => rs.map(r => [...r.cells].map("
                                     "c => c.textContent.trim()))")
    assert len(rows) == 24  # hourly, one tenant's one queue: Kursk is the other tenant's
    assert {r[1] for r in rows} == {"Тверская область"}
    current = page.eval_on_selector_all("#plan tbody tr.current", "rs => rs.length")
    assert current == 1
    assert page.get_attribute("#plan tbody tr.current", "aria-current") == "true"
    hour = datetime.fromtimestamp(plan_api["now"] / 1000, MOSCOW).hour
    now_row = rows[hour]
    assert now_row[0].startswith(f"{hour:02d}:00–") and "сейчас" in now_row[0]
    assert page.inner_text("#plan tbody tr.current th").startswith(f"{hour:02d}:00")
    for past in rows[:hour]:  # the hours gone by: actual calls beside the forecast
        assert past[4] != "—"
    for later in rows[hour + 1:]:
        assert later[4] == "—"
    day_rows = [r for r in rows[8:20]]
    assert all(float(r[3]) > 2 for r in day_rows)  # about four calls an hour by day
    assert all(int(r[7]) >= 1 and int(r[8]) >= int(r[7]) for r in day_rows)
    assert page.is_hidden("#plan-empty")

    for width in (1366, 800, 3840):  # laptop, narrow (one column), wall screen
        page.set_viewport_size({"width": width, "height": 900})
        scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll[0] <= scroll[1], f"page wider than the screen at {width}: {scroll}"

    page.click("#lang-en")
    page.wait_for_timeout(300)
    assert page.inner_text("#plan-title") == "Today's plan: forecast and agents"
    assert "Tver Oblast" in page.inner_text("#plan tbody tr.current")
    assert "(now)" in page.inner_text("#plan tbody tr.current th")
