"""The board's HTTP surface without a broker: keys from a real key store, records folded through
the feed's own decode path (real Avro bytes), the hub's per-subscriber filtering."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from schemas.codec import encode, encode_event
from schemas.events import Channel, ContactEvent, EventType
from services.alerts.feed import now_ms
from services.alerts.hub import Hub
from services.alerts.live import LiveBoard, Scope
from services.alerts.router import router as alerts_router
from services.auth import KeyStore, TenantType, key_store_path
from services.auth import Scope as KeyScope
from services.board.router import router as board_router
from services.board.session import COOKIE
from services.settings import load_settings

T0 = 1_790_000_000_000


def alert(contact: str, tenant: str, region: str = "tver") -> dict[str, Any]:
    return {"alert_id": f"a-{contact}", "alert": "breached", "threshold": None,
            "contact_id": contact, "milestone": "phone.answer", "status": "breached",
            "started_at": T0, "due_at": T0 + 40_000, "stopped_at": None, "elapsed_ms": 40_000,
            "target_ms": 40_000, "raised_at": T0 + 40_000, "tenant": tenant, "region": region,
            "channel": "phone", "contact_kind": "inquiry", "customer_category": "standard",
            "office": None}


def storm(alert_id: str, tenant: str | None, region: str = "tver") -> dict[str, Any]:
    """A storm whose window ended a minute ago: the board keeps storms for an hour after."""
    end = now_ms() - 60_000
    record = {"alert_id": alert_id, "tenant": tenant, "region": region, "scope": "outage",
              "window_start": end - 600_000, "window_end": end, "count": 90, "baseline": 10.0,
              "threshold": 30.0, "local_hour": 9, "raised_at": end}
    if tenant is None:  # what a worker from before the per-tenant rule wrote
        del record["tenant"]
    return record


@pytest.fixture
def app_keys(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = load_settings(data_dir=tmp_path, board_feed=False, board_history_s=0)
    store = KeyStore(key_store_path(tmp_path))
    keys = {}
    for name, tenant, scopes in (
        ("read", "mrsk", [KeyScope.READ]), ("other", "tgk", [KeyScope.READ]),
        ("ingest", "mrsk", [KeyScope.INGEST]),
        ("wide", "mrsk", [KeyScope.READ, KeyScope.REGION_STORMS]),
        ("admin", "mrsk", [KeyScope.ADMIN]),
    ):
        _, keys[name] = store.create(tenant, scopes, tenant_type=TenantType.GRID, now_ms=T0)
    app = FastAPI()
    app.state.settings = settings
    app.include_router(alerts_router)
    app.include_router(board_router)
    with TestClient(app) as client:
        feed = app.state.board_feed
        feed.handle(encode("SlaAlertRaised", alert("c1", "mrsk")))
        feed.handle(encode("SlaAlertRaised", alert("c2", "tgk")))
        feed.handle(encode("SlaAlertRaised", alert("c3", "mrsk", region="kursk")))
        feed.handle(encode("OutageStormSuspected", storm("storm-mrsk", "mrsk")))
        feed.handle(encode("OutageStormSuspected", storm("storm-tgk", "tgk")))
        feed.handle(encode("OutageStormSuspected", storm("storm-v1", None), version=1))
        feed.handle(b"not avro")
        assert feed.undecodable == 1
        yield client, keys


def test_no_key_no_data(app_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = app_keys
    assert client.get("/api/board/snapshot").status_code == 401
    assert client.get("/api/board/stream").status_code == 401
    assert client.get("/api/board/snapshot", headers={"X-API-Key": "kk_x_y"}).status_code == 401
    res = client.get("/api/board/snapshot", headers={"X-API-Key": keys["ingest"]})
    assert res.status_code == 403
    assert client.get("/board").status_code == 200  # the page itself holds no data


def test_each_tenant_sees_only_its_own(app_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = app_keys
    mine = client.get("/api/board/snapshot", headers={"X-API-Key": keys["read"]}).json()
    assert mine["tenant"] == "mrsk"
    assert sorted(a["contact_id"] for a in mine["feed"]) == ["c1", "c3"]
    tver = client.get("/api/board/snapshot", params={"key": keys["read"], "region": "tver"}).json()
    assert [a["contact_id"] for a in tver["feed"]] == ["c1"]
    # acknowledging another tenant's alert is refused as if it did not exist
    res = client.post("/api/alerts/a-c2/ack", json={"by": "x"},
                      headers={"X-API-Key": keys["read"]})
    assert res.status_code == 404


def _storms(client: TestClient, key: str, **params: str) -> Any:
    res = client.get("/api/board/snapshot", params=params, headers={"X-API-Key": key})
    return res.status_code, sorted(s["alert_id"] for s in res.json().get("storms", []))


def test_a_tenant_sees_only_its_own_storms(
    app_keys: tuple[TestClient, dict[str, str]],
) -> None:
    """Two tenants of one region each see their own storm, never the other's, nor the v1 storm
    that was counted over both of them."""
    client, keys = app_keys
    assert _storms(client, keys["read"]) == (200, ["storm-mrsk"])
    assert _storms(client, keys["other"], region="tver") == (200, ["storm-tgk"])
    # acknowledging another tenant's storm, or a tenant-less one, is refused like any alert
    for alert_id in ("storm-tgk", "storm-v1"):
        res = client.post(f"/api/alerts/{alert_id}/ack", json={},
                          headers={"X-API-Key": keys["read"]})
        assert res.status_code == 404, alert_id


def test_the_region_wide_storm_view_needs_its_scope(
    app_keys: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = app_keys
    for key in ("read", "other"):
        status_code, _ = _storms(client, keys[key], storms="region")
        assert status_code == 403
        res = client.get("/api/board/stream", params={"storms": "region"},
                         headers={"X-API-Key": keys[key]})
        assert res.status_code == 403 and "region-storms" in res.json()["detail"]
    wide = ["storm-mrsk", "storm-tgk", "storm-v1"]
    assert _storms(client, keys["wide"], storms="region") == (200, wide)
    assert _storms(client, keys["admin"], storms="region", region="tver") == (200, wide)
    assert _storms(client, keys["wide"], storms="region", region="kursk") == (200, [])
    assert _storms(client, keys["wide"]) == (200, ["storm-mrsk"])  # asked for: default is own
    # the view widens storms only: the feed is still the key's tenant
    feed = client.get("/api/board/snapshot", params={"storms": "region"},
                      headers={"X-API-Key": keys["wide"]}).json()["feed"]
    assert sorted(a["contact_id"] for a in feed) == ["c1", "c3"]
    assert _storms(client, keys["read"], storms="everything")[0] == 422
    # seeing another tenant's storm is not acting on it: that tenant acknowledges its own
    res = client.post("/api/alerts/storm-tgk/ack", json={}, headers={"X-API-Key": keys["wide"]})
    assert res.status_code == 404


def test_snapshot_names_regions_in_both_languages(
    app_keys: tuple[TestClient, dict[str, str]],
) -> None:
    """Items keep the region id and carry its name; the snapshot carries the whole table so
    that the page switches language without reconnecting; unknown regions show as their id."""
    client, keys = app_keys
    client.app.state.board_feed.handle(  # type: ignore[attr-defined]
        encode("SlaAlertRaised", alert("c9", "mrsk", region="atlantis")))
    headers = {"X-API-Key": keys["read"]}
    ru = client.get("/api/board/snapshot", headers=headers).json()
    assert {(a["region"], a["region_name"]) for a in ru["feed"]} == {
        ("tver", "Тверская область"), ("kursk", "Курская область"), ("atlantis", "atlantis")}
    assert {(s["region"], s["region_name"]) for s in ru["storms"]} == {
        ("tver", "Тверская область")}
    assert all(r["region_name"] for r in ru["risks"])
    assert ru["region_names"]["tver"] == {"ru": "Тверская область", "en": "Tver Oblast"}
    assert ru["region_names"]["yekaterinburg"]["ru"] == "Свердловская область"
    assert "atlantis" not in ru["region_names"]
    en = client.get("/api/board/snapshot", params={"lang": "en", "region": "kursk"},
                    headers=headers).json()
    assert [(a["region"], a["region_name"]) for a in en["feed"]] == [("kursk", "Kursk Oblast")]
    assert en["region_names"] == ru["region_names"]
    bad = client.get("/api/board/snapshot", params={"lang": "de"}, headers=headers)
    assert bad.status_code == 422


def test_stream_updates_are_named_without_touching_the_shared_message() -> None:
    from services.alerts.router import _named_snapshot, _named_update

    board = LiveBoard()
    updates = board.apply("SlaAlertRaised", alert("c1", "mrsk", region="kursk"))
    assert [u.type for u in updates] == ["alert", "risk"]
    for update in updates:
        message = update.message()
        named = _named_update(message, "en")
        assert named["type"] == update.type and named["data"]["region_name"] == "Kursk Oblast"
        assert "region_name" not in message["data"]  # other pages may want another language
    ack = _named_update({"type": "ack", "data": {"alert_id": "a-c1"}}, "ru")
    assert ack == {"type": "ack", "data": {"alert_id": "a-c1"}}  # nothing to name
    snap = _named_snapshot(board.snapshot(Scope("mrsk"), T0), "mrsk", "ru")
    assert snap["tenant"] == "mrsk" and snap["now"] == T0
    assert [a["region_name"] for a in snap["feed"]] == ["Курская область"]
    assert "region_name" not in board.feed["a-c1"]


def test_login_sets_an_httponly_cookie(app_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = app_keys
    res = client.post("/board/login", data={"key": keys["ingest"]}, follow_redirects=False)
    assert res.headers["location"] == "/board?login=failed" and COOKIE not in res.cookies
    res = client.post("/board/login", data={"key": keys["read"]}, follow_redirects=False)
    assert res.status_code == 303
    cookie = res.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/board/me").json()["tenant"] == "mrsk"
    client.post("/board/logout")
    client.cookies.clear()
    assert client.get("/api/board/me").status_code == 401


def test_static_files_are_served_and_nothing_else(
    app_keys: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = app_keys
    res = client.get("/board/static/board.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in res.text
    assert client.get("/board/static/..%2Frouter.py").status_code == 404
    assert client.get("/board/static/router.py").status_code == 404
    # no CDN, no external URL: the page works offline
    page = client.get("/board").text + res.text + client.get("/board/static/board.css").text
    assert "http://" not in page and "https://" not in page


def test_staffing_advice_from_events(app_keys: tuple[TestClient, dict[str, str]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client, keys = app_keys
    feed = client.app.state.board_feed  # type: ignore[attr-defined]
    now = T0 + 3_000_000
    for i in range(120):  # 120 calls in the last hour, handled in 180 s by 3 agents
        at = now - 3_500_000 + i * 25_000
        for etype, offset in ((EventType.QUEUED, 0), (EventType.ANSWERED, 10_000),
                              (EventType.CLOSED, 190_000)):
            feed.handle(encode_event(ContactEvent(
                event_id=f"e{i}{etype}", contact_id=f"k{i}", tenant="mrsk", region="tver",
                channel=Channel.PHONE, type=etype, occurred_at=at + offset, queue="main",
                agent=f"agent{i % 3}")))
    rows = client.app.state.staffing.advice(now)  # type: ignore[attr-defined]
    row = next(r for r in rows if r["region"] == "tver")
    assert row["arrivals_last_hour"] == 120 and row["handle_s"] == 180.0
    assert row["traffic_erlangs"] == 6.0  # 120/h x 180 s
    assert row["agents_needed"] == 9  # Erlang C: SL(40 s) is 77.1% with 8 agents, 89.9% with 9
    res = client.put("/api/staffing/agents", json={"region": "tver", "queue": "main",
                                                   "agents": 5},
                     headers={"X-API-Key": keys["read"]})
    assert res.status_code == 200
    entered = client.app.state.staffing.advice(now)[0]  # type: ignore[attr-defined]
    assert (entered["agents_active"], entered["agents_source"]) == (5, "entered")
    # the page's table names the region (the API's clock pinned to the test's "now")
    monkeypatch.setattr("services.alerts.router.now_ms", lambda: now)
    for lang, name in (("ru", "Тверская область"), ("en", "Tver Oblast")):
        res = client.get("/api/staffing", params={"region": "tver", "lang": lang},
                         headers={"X-API-Key": keys["read"]})
        assert [(q["region"], q["region_name"]) for q in res.json()["queues"]] == [
            ("tver", name)]


def test_hub_gives_storms_to_their_tenant_and_to_the_region_wide_view() -> None:
    hub, board = Hub(), LiveBoard()
    mine = hub.subscribe(Scope("mrsk"))
    other = hub.subscribe(Scope("tgk", region="tver"))
    wide = hub.subscribe(Scope("mrsk", region="tver", region_storms=True))
    for alert_id, tenant in (("s-mrsk", "mrsk"), ("s-tgk", "tgk"), ("s-v1", None)):
        hub.publish(board.apply("OutageStormSuspected", storm(alert_id, tenant)))
    hub.publish(board.apply("OutageStormSuspected", storm("s-far", "tgk", region="kursk")))

    def got(sub: Any) -> list[str]:
        return [sub.queue.get_nowait()["data"]["alert_id"] for _ in range(sub.queue.qsize())]

    assert got(mine) == ["s-mrsk"]
    assert got(other) == ["s-tgk"]
    assert got(wide) == ["s-mrsk", "s-tgk", "s-v1"]


def test_hub_gives_each_subscriber_only_its_scope() -> None:
    async def scenario() -> tuple[list[str], list[str], bool]:
        hub, board = Hub(), LiveBoard()
        mine = hub.subscribe(Scope("mrsk", region="tver"))
        other = hub.subscribe(Scope("tgk"))
        for contact, tenant, region in (("c1", "mrsk", "tver"), ("c2", "tgk", "tver"),
                                        ("c3", "mrsk", "kursk")):
            hub.publish(board.apply("SlaAlertRaised", alert(contact, tenant, region)))
        got = [mine.queue.get_nowait()["data"].get("contact_id") for _ in range(mine.queue.qsize())]
        got2 = [other.queue.get_nowait()["data"].get("contact_id")
                for _ in range(other.queue.qsize())]
        slow = hub.subscribe(Scope("mrsk"))
        slow.queue = asyncio.Queue(maxsize=1)
        hub.publish(board.apply("SlaAlertRaised", alert("c4", "mrsk")))
        return got, got2, slow.overflowed

    got, got2, overflowed = asyncio.run(scenario())
    assert set(got) == {"c1"} and set(got2) == {"c2"}
    assert overflowed  # a page that cannot keep up is cut off (it reconnects for a snapshot)
