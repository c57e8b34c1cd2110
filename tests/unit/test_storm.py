"""The outage-storm rule."""

from __future__ import annotations

from streams.storm import HOUR, MINUTE, StormConfig, StormDetector, storm_threshold, window_count

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
    det.observe("kursk", NOW - 2 * MINUTE, total=30, outage=25)
    det.observe("tver", NOW - 2 * MINUTE, total=10, outage=10)
    alerts = det.evaluate(NOW)
    assert [(a["region"], a["scope"], a["count"]) for a in alerts] == [("kursk", "outage", 25)]
    assert alerts[0]["threshold"] == 20.0
    assert det.evaluate(NOW + 1000) == []  # same window: not raised again


def test_alert_id_is_deterministic() -> None:
    ids = []
    for _ in range(2):
        det = StormDetector()
        det.observe("kursk", NOW - MINUTE, total=40, outage=40)
        ids.append(det.evaluate(NOW)[0]["alert_id"])
    assert ids[0] == ids[1]


def test_the_usual_level_is_learnt_per_local_hour() -> None:
    cfg = StormConfig(min_count=5, factor=3.0, learn_weight=1.0, default_hourly=1.0)
    det = StormDetector(cfg)
    hour_yesterday = NOW - NOW % HOUR - 24 * HOUR
    det.observe("kursk", hour_yesterday - MINUTE, total=1, outage=0)  # partial hours are skipped
    for m in range(60):  # this hour yesterday was busy: 120 outage calls
        det.observe("kursk", hour_yesterday + m * MINUTE, total=2, outage=2)
    det.evaluate(NOW)  # learns every completed hour since
    det.observe("kursk", NOW - MINUTE, total=30, outage=30)
    # usual 120/h -> threshold 3 x 20 = 60 in 10 min: 30 is no storm at this hour
    assert det.evaluate(NOW) == []
    assert det.usual_per_hour("kursk", "outage", (NOW // HOUR + 3) % 24) == 120.0


def test_all_scope_counts_every_phone_contact() -> None:
    det = StormDetector(StormConfig(scopes=("all",), min_count=20))
    det.observe("kursk", NOW - MINUTE, total=25, outage=0)
    assert [a["scope"] for a in det.evaluate(NOW)] == ["all"]
