"""The live board's fold: metrics summed over partitions, at-risk list, feed, storms, acks."""

from __future__ import annotations

from typing import Any

import pytest

from services.alerts.live import LiveBoard, Scope
from services.alerts.metrics_view import MetricsView

T0 = 1_790_000_000_000


def snap(partition: int, window: str, start: int, taken: int, **counts: Any) -> dict[str, Any]:
    base = {"offered": 0, "answered": 0, "answered_in_threshold": 0, "abandoned": 0,
            "short_abandoned": 0, "breaches": 0, "waiting": 0, "longest_wait_ms": 0,
            "asa_ms": None, "service_level": None}
    base.update(counts)
    return {"snapshot_id": "x", "partition": partition, "tenant": "mrsk", "channel": "phone",
            "region": "Tver", "office": None, "window": window, "window_start": start,
            "window_end": start + 900_000, "taken_at": taken, **base}


def alert(kind: str, contact: str = "c1", **extra: Any) -> dict[str, Any]:
    rec = {"alert_id": f"{contact}-{kind}-{extra.get('threshold')}", "alert": kind,
           "threshold": None, "contact_id": contact, "milestone": "phone_answer",
           "status": "breached" if kind == "breached" else "open", "started_at": T0,
           "due_at": T0 + 40_000, "stopped_at": None, "elapsed_ms": 20_000, "target_ms": 40_000,
           "raised_at": T0 + 20_000, "tenant": "mrsk", "region": "Tver", "channel": "phone",
           "contact_kind": "inquiry", "customer_category": "standard", "office": None}
    rec.update(extra)
    return rec


def test_metrics_are_summed_over_partitions_and_rates_recomputed() -> None:
    view = MetricsView()
    view.add(snap(0, "15m", T0, T0 + 1000, offered=10, answered=8, answered_in_threshold=6,
                  abandoned=1, short_abandoned=1, asa_ms=20_000.0, waiting=2,
                  longest_wait_ms=30_000))
    view.add(snap(1, "15m", T0, T0 + 2000, offered=5, answered=5, answered_in_threshold=5,
                  asa_ms=8_000.0, waiting=1, longest_wait_ms=5_000))
    # an older snapshot of partition 0 arriving late is ignored
    view.add(snap(0, "15m", T0, T0 + 500, offered=1, waiting=9, longest_wait_ms=99_000))
    row = view.row(view.groups()[0])
    w = row["windows"]["15m"]
    assert (w["offered"], w["answered"], w["answered_in_threshold"]) == (15, 13, 11)
    assert w["service_level"] == pytest.approx(11 / 14)
    assert w["abandon_rate"] == pytest.approx(1 / 14)
    assert w["asa_ms"] == pytest.approx((20_000 * 8 + 8_000 * 5) / 13)
    assert row["waiting"] == 3
    assert (row["longest_wait_ms"], row["longest_as_of"]) == (30_000, T0 + 1000)


def test_newest_window_replaces_the_previous_one() -> None:
    view = MetricsView()
    view.add(snap(0, "15m", T0, T0 + 1000, offered=10, answered_in_threshold=10))
    view.add(snap(1, "15m", T0, T0 + 1000, offered=4, answered_in_threshold=0))
    view.add(snap(0, "15m", T0 + 900_000, T0 + 901_000, offered=2, answered_in_threshold=1))
    w = view.row(view.groups()[0])["windows"]["15m"]
    assert (w["window_start"], w["offered"], w["service_level"]) == (T0 + 900_000, 2, 0.5)


def test_warning_then_breach_then_stop() -> None:
    board = LiveBoard()
    ups = board.apply("SlaAlertRaised", alert("warning", threshold=0.5))
    assert [u.type for u in ups] == ["alert", "risk"]
    ups = board.apply("SlaAlertRaised", alert("breached"))
    assert [u.type for u in ups] == ["alert", "risk"]
    snap_ = board.snapshot(Scope("mrsk"), T0 + 41_000)
    assert [a["alert"] for a in snap_["feed"]] == ["breached", "warning"]
    assert snap_["risks"][0]["status"] == "breached"
    # the late answer arrives as an outcome with stopped_at: the contact leaves the list
    ups = board.apply("MilestoneOutcomeEvaluated", {
        **alert("breached"), "outcome_id": "o", "stopped_at": T0 + 50_000,
        "warnings_crossed": [0.5], "evaluated_at": T0 + 50_000})
    assert [(u.type, u.data.get("removed")) for u in ups] == [("risk", True)]
    assert board.snapshot(Scope("mrsk"), T0 + 51_000)["risks"] == []


def test_met_and_cancelled_do_not_enter_the_feed() -> None:
    board = LiveBoard()
    board.apply("SlaAlertRaised", alert("warning", threshold=0.5))
    ups = board.apply("SlaAlertRaised", alert("met", status="met", stopped_at=T0 + 30_000))
    assert [(u.type, u.data.get("removed")) for u in ups] == [("risk", True)]
    assert [a["alert"] for a in board.snapshot(Scope("mrsk"), T0)["feed"]] == ["warning"]


def test_scope_hides_other_tenants_regions_and_channels() -> None:
    board = LiveBoard()
    board.apply("SlaAlertRaised", alert("breached", "c1"))
    board.apply("SlaAlertRaised", alert("breached", "c2", tenant="other"))
    board.apply("SlaAlertRaised", alert("breached", "c3", region="Kursk"))
    board.apply("SlaAlertRaised", alert("breached", "c4", channel="email"))
    contacts = {a["contact_id"] for a in board.snapshot(Scope("mrsk"), T0)["feed"]}
    assert contacts == {"c1", "c3", "c4"}
    only = board.snapshot(Scope("mrsk", region="Tver", channel="phone"), T0)["feed"]
    assert [a["contact_id"] for a in only] == ["c1"]


def storm_record(alert_id: str, tenant: str | None, region: str = "Tver") -> dict[str, Any]:
    record = {"alert_id": alert_id, "tenant": tenant, "region": region, "scope": "outage",
              "window_start": T0, "window_end": T0 + 600_000, "count": 90, "baseline": 10.0,
              "threshold": 30.0, "local_hour": 9, "raised_at": T0 + 600_000}
    if tenant is None:  # a v1 record: no tenant field
        del record["tenant"]
    return record


def test_storm_banner_and_acknowledgement() -> None:
    board = LiveBoard()
    board.apply("OutageStormSuspected", storm_record("s1", "mrsk"))
    assert board.where("s1") == ("mrsk", "Tver", "phone")
    board.apply("SlaAlertRaised", alert("breached"))
    aid = alert("breached")["alert_id"]
    ups = board.apply("AlertAcknowledged", {
        "ack_id": "a", "alert_id": aid, "tenant": "mrsk", "region": "Tver", "channel": "phone",
        "contact_id": "c1", "acknowledged_by": "Ivanova", "key_id": "k",
        "acknowledged_at": T0 + 45_000, "note": None})
    assert ups[0].type == "ack" and ups[0].tenant == "mrsk"
    board.apply("FollowUpMarked", {
        "follow_up_id": "f", "alert_id": aid, "tenant": "mrsk", "region": "Tver",
        "channel": "phone", "contact_id": "c1", "action": "called_back", "marked_by": "Ivanova",
        "key_id": "k", "marked_at": T0 + 60_000, "note": None})
    snap_ = board.snapshot(Scope("mrsk"), T0 + 61_000)
    ack = snap_["feed"][0]["ack"]
    assert (ack["acknowledged_by"], ack["follow_up"]) == ("Ivanova", "called_back")
    assert [s["alert_id"] for s in snap_["storms"]] == ["s1"]
    # storms are pruned an hour after their window
    assert board.snapshot(Scope("mrsk"), T0 + 600_000 + 3_600_001)["storms"] == []


def test_a_tenant_sees_only_its_own_storms_unless_region_wide() -> None:
    board = LiveBoard()
    ups = [*board.apply("OutageStormSuspected", storm_record("grid", "mrsk")),
           *board.apply("OutageStormSuspected", storm_record("retail", "tns")),
           *board.apply("OutageStormSuspected", storm_record("v1", None)),
           *board.apply("OutageStormSuspected", storm_record("far", "tns", region="Kursk"))]
    assert [u.tenant for u in ups] == ["mrsk", "tns", "", "tns"]
    now = T0 + 601_000

    def seen(scope: Scope) -> tuple[list[str], list[str]]:
        snap = sorted(s["alert_id"] for s in board.snapshot(scope, now)["storms"])
        live = sorted(u.data["alert_id"] for u in ups if scope.admits_update(u))
        return snap, live

    mine = ["grid"]
    assert seen(Scope("mrsk")) == (mine, mine)
    assert seen(Scope("mrsk", region="Tver")) == (mine, mine)
    assert seen(Scope("tns", region="Tver")) == (["retail"], ["retail"])
    # the region-wide view: every tenant's storms and the tenant-less v1 storm of the region
    wide = ["grid", "retail", "v1"]
    assert seen(Scope("mrsk", region="Tver", region_storms=True)) == (wide, wide)
    # ...and only storms: another tenant's alerts stay hidden
    other_alert = board.apply("SlaAlertRaised", alert("breached", "c9", tenant="tns"))
    assert not any(Scope("mrsk", region_storms=True).admits_update(u) for u in other_alert)
    # an acknowledgement of another tenant's storm reaches the region-wide view with it
    [ack] = board.apply("AlertAcknowledged", {
        "ack_id": "a", "alert_id": "retail", "tenant": "tns", "region": "Tver",
        "channel": "phone", "contact_id": None, "acknowledged_by": "Petrov", "key_id": "k",
        "acknowledged_at": T0 + 620_000, "note": None})
    assert Scope("mrsk", region_storms=True).admits_update(ack)
    assert not Scope("mrsk").admits_update(ack)


def retraction(contact: str = "c1", **extra: Any) -> dict[str, Any]:
    rec = {"retraction_id": f"r-{contact}", "alert_id": alert("breached", contact)["alert_id"],
           "contact_id": contact, "milestone": "phone_answer", "status": "met",
           "reason": "answered at +35 s, read after the breach", "started_at": T0,
           "due_at": T0 + 40_000, "stopped_at": T0 + 35_000, "elapsed_ms": 35_000,
           "target_ms": 40_000, "retracted_at": T0 + 90_000, "tenant": "mrsk",
           "region": "Tver", "channel": "phone", "contact_kind": "inquiry",
           "customer_category": "standard", "office": None}
    rec.update(extra)
    return rec


def test_a_retracted_breach_stays_in_the_feed_marked_and_leaves_the_risks() -> None:
    board = LiveBoard()
    board.apply("SlaAlertRaised", alert("warning", threshold=0.5))
    board.apply("SlaAlertRaised", alert("breached"))
    board.apply("SlaAlertRaised", alert("breached", "c2"))
    assert len(board.snapshot(Scope("mrsk"), T0 + 41_000)["risks"]) == 2
    [up] = board.apply("SlaAlertRetracted", retraction())
    breach_id = alert("breached")["alert_id"]
    assert (up.type, up.tenant, up.region, up.channel) == ("retract", "mrsk", "Tver", "phone")
    assert (up.data["alert_id"], up.data["key"]) == (breach_id, "c1|phone_answer")
    assert up.data["retracted"]["at"] == T0 + 90_000
    snap_ = board.snapshot(Scope("mrsk"), T0 + 91_000)
    # the feed keeps both c1 items in their places, the breach marked as withdrawn
    feed = {a["alert_id"]: a for a in snap_["feed"]}
    assert [a["contact_id"] for a in snap_["feed"]] == ["c2", "c1", "c1"]
    assert {k: feed[breach_id]["retracted"][k] for k in ("at", "status", "reason")} == {
        "at": T0 + 90_000, "status": "met", "reason": "answered at +35 s, read after the breach"}
    assert feed[alert("breached", "c2")["alert_id"]]["retracted"] is None
    assert feed[alert("warning", threshold=0.5)["alert_id"]].get("retracted") is None
    assert [r["contact_id"] for r in snap_["risks"]] == ["c2"]
    # the met alert the worker also emits changes nothing more; a re-sent breach stays withdrawn
    assert board.apply("SlaAlertRaised", alert("met", status="met", stopped_at=T0 + 35_000)) == []
    board.apply("SlaAlertRaised", alert("breached"))
    assert board.snapshot(Scope("mrsk"), T0)["feed"][0]["retracted"]["status"] == "met"


def test_a_retraction_reaches_only_subscribers_who_may_see_it() -> None:
    board = LiveBoard()
    board.apply("SlaAlertRaised", alert("breached", tenant="other"))
    [up] = board.apply("SlaAlertRetracted", retraction(tenant="other"))
    assert Scope("other").admits_update(up)
    assert not Scope("mrsk").admits_update(up)
    assert not Scope("other", channel="email").admits_update(up)
