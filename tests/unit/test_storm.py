"""The outage-storm rule, per tenant and region, and its OutageStormSuspected records."""

from __future__ import annotations

from schemas.codec import decode, encode
from schemas.units import HOUR_MS as HOUR
from schemas.units import MINUTE_MS as MINUTE
from streams.storm import (
    StormConfig,
    StormDetector,
    storm_alert_id,
    storm_threshold,
    window_count,
)

NOW = 1_795_000_000_000 - 1_795_000_000_000 % HOUR + 30 * MINUTE


def test_threshold_is_the_larger_of_the_floor_and_the_multiple() -> None:
    cfg = StormConfig(window_ms=10 * MINUTE, factor=3.0, min_count=20)
    assert storm_threshold(30.0, cfg) == 20.0  # 3 x 30/h x 1/6 h = 15 < 20
    assert storm_threshold(120.0, cfg) == 60.0


def test_window_count_takes_the_minutes_overlapping_the_window() -> None:
    minutes = {NOW - 15 * MINUTE: 5, NOW - 9 * MINUTE: 3, NOW - NOW % MINUTE: 2}
    assert window_count(minutes, NOW, 10 * MINUTE) == 5


def test_a_burst_above_the_usual_level_raises_one_alert_per_window() -> None:
    det = StormDetector(StormConfig(min_count=20, default_hourly=30.0))
    det.observe("mrsk", "kursk", NOW - 2 * MINUTE, total=30, outage=25)
    det.observe("mrsk", "tver", NOW - 2 * MINUTE, total=10, outage=10)
    alerts = det.evaluate(NOW)
    assert [(a["tenant"], a["region"], a["scope"], a["count"]) for a in alerts] == [
        ("mrsk", "kursk", "outage", 25)]
    assert alerts[0]["threshold"] == 20.0
    assert det.evaluate(NOW + 1000) == []  # same window: not raised again


def test_alert_id_is_deterministic_per_tenant() -> None:
    """A restarted worker re-raising the same storm sends the same id; another tenant's storm
    in the same region and window has another id."""
    ids = []
    for tenant in ("mrsk", "mrsk", "tns"):
        det = StormDetector()
        det.observe(tenant, "kursk", NOW - MINUTE, total=40, outage=40)
        ids.append(det.evaluate(NOW)[0]["alert_id"])
    assert ids[0] == ids[1] != ids[2]
    window_start = NOW - NOW % StormConfig().window_ms
    assert ids[0] == storm_alert_id("mrsk", "kursk", "outage", window_start)


def test_two_tenants_of_one_region_are_counted_apart() -> None:
    """A grid company storms while the retail supplier of the same region has its usual calls:
    one alert, carrying the storming tenant, and not built from the other tenant's calls."""
    det = StormDetector(StormConfig(min_count=20, default_hourly=30.0))
    det.observe("mrsk", "kursk", NOW - 2 * MINUTE, total=30, outage=25)
    det.observe("tns", "kursk", NOW - 2 * MINUTE, total=15, outage=15)  # 40 together
    alerts = det.evaluate(NOW)
    assert [(a["tenant"], a["region"], a["count"]) for a in alerts] == [("mrsk", "kursk", 25)]
    # the region's sum (40) would storm, but neither tenant alone does
    det = StormDetector(StormConfig(min_count=20, default_hourly=30.0))
    det.observe("mrsk", "kursk", NOW - 2 * MINUTE, total=19, outage=19)
    det.observe("tns", "kursk", NOW - 2 * MINUTE, total=19, outage=19)
    assert det.evaluate(NOW) == []


def test_the_usual_level_is_per_tenant() -> None:
    cfg = StormConfig(min_count=5, factor=3.0, learn_weight=1.0, default_hourly=1.0)
    det = StormDetector(cfg)
    hour_yesterday = NOW - NOW % HOUR - 24 * HOUR
    det.observe("mrsk", "kursk", hour_yesterday - MINUTE, total=1, outage=0)  # partial hour
    for m in range(60):  # the grid company is busy at this hour; the supplier is not seen
        det.observe("mrsk", "kursk", hour_yesterday + m * MINUTE, total=2, outage=2)
    det.observe("mrsk", "kursk", NOW - MINUTE, total=30, outage=30)
    det.observe("tns", "kursk", NOW - MINUTE, total=30, outage=30)
    assert [a["tenant"] for a in det.evaluate(NOW)] == ["tns"]  # 30 is usual only for mrsk


def test_records_are_written_as_v2_and_v1_records_still_decode() -> None:
    det = StormDetector()
    det.observe("mrsk", "kursk", NOW - MINUTE, total=40, outage=40)
    datum = det.evaluate(NOW)[0]
    name, back = decode(encode("OutageStormSuspected", datum))
    assert (name, back) == ("OutageStormSuspected", datum)
    v1 = {k: v for k, v in datum.items() if k != "tenant"}
    name, old = decode(encode("OutageStormSuspected", v1, version=1))
    assert name == "OutageStormSuspected"
    assert old == {**v1, "tenant": ""}  # read as v2: the tenant is unknown, ''


def test_the_usual_level_is_learnt_per_local_hour() -> None:
    cfg = StormConfig(min_count=5, factor=3.0, learn_weight=1.0, default_hourly=1.0)
    det = StormDetector(cfg)
    hour_yesterday = NOW - NOW % HOUR - 24 * HOUR
    det.observe("mrsk", "kursk", hour_yesterday - MINUTE, total=1, outage=0)  # partial: skipped
    for m in range(60):  # this hour yesterday was busy: 120 outage calls
        det.observe("mrsk", "kursk", hour_yesterday + m * MINUTE, total=2, outage=2)
    det.evaluate(NOW)  # learns every completed hour since
    det.observe("mrsk", "kursk", NOW - MINUTE, total=30, outage=30)
    # usual 120/h -> threshold 3 x 20 = 60 in 10 min: 30 is no storm at this hour
    assert det.evaluate(NOW) == []
    assert det.usual_per_hour("mrsk", "kursk", "outage", (NOW // HOUR + 3) % 24) == 120.0


def test_all_scope_counts_every_phone_contact() -> None:
    det = StormDetector(StormConfig(scopes=("all",), min_count=20))
    det.observe("mrsk", "kursk", NOW - MINUTE, total=25, outage=0)
    assert [a["scope"] for a in det.evaluate(NOW)] == ["all"]
