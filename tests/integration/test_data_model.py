"""The analysts' tables behave as docs/analytics.md promises under at-least-once delivery:
redelivered rows collapse, newer versions win whatever the arrival order, and the hourly/daily
pre-aggregates count a contact once however often (and however late) its outcome arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.adapters.chdb_warehouse import ChdbWarehouse
from tests.fixtures.analytics_seed import EVENT_COLUMNS, OUTCOME_COLUMNS

T0 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


def _outcome(contact: str, status: str, elapsed_s: int, evaluated_s: int,
             stopped: bool = True) -> tuple[object, ...]:  # fmt: skip
    return (f"{contact}|{evaluated_s}", "mrsk", contact, "phone.answer", status, T0,
            T0 + timedelta(seconds=40), T0 + timedelta(seconds=elapsed_s) if stopped else None,
            elapsed_s * 1000, 40_000, [], T0 + timedelta(seconds=evaluated_s), "tver", "phone",
            "inquiry", "standard", None)  # fmt: skip


def _hourly(warehouse: ChdbWarehouse) -> list[tuple[object, ...]]:
    return warehouse.query(
        "SELECT local_hour, length((maxMapMerge(met)).1), length((maxMapMerge(breached)).1), "
        "(maxMapMerge(breached)).2, length((maxMapMerge(cancelled)).1) "
        "FROM outcome_stats_hourly GROUP BY local_hour"
    )


def test_pre_aggregates_are_exact_under_duplicates_and_re_evaluation(
    migrated_warehouse: ChdbWarehouse,
) -> None:
    wh = migrated_warehouse
    rows = [_outcome("a", "met", 12, 13), _outcome("b", "cancelled", 4, 5),
            _outcome("c", "breached", 45, 45, stopped=False)]  # fmt: skip
    wh.insert("outcomes", OUTCOME_COLUMNS, rows)
    wh.insert("outcomes", OUTCOME_COLUMNS, rows)  # the whole batch redelivered
    wh.insert("outcomes", OUTCOME_COLUMNS, [_outcome("c", "breached", 70, 70)])  # c stops
    wh.insert("outcomes", OUTCOME_COLUMNS, [_outcome("a", "open", 1, 1, stopped=False)])  # late
    local_hour = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)  # wall clock in a UTC-typed column
    assert _hourly(wh) == [(local_hour, 1, 1, [70_000], 1)]
    daily = wh.query(
        "SELECT local_day, length((maxMapMerge(met)).1) + length((maxMapMerge(breached)).1) "
        "FROM outcome_stats_daily GROUP BY local_day"
    )
    assert daily == [(datetime(2026, 10, 5).date(), 2)]
    final = wh.query(
        "SELECT contact_id, status, elapsed_ms FROM outcomes FINAL ORDER BY contact_id"
    )
    assert final == [("a", "met", 12_000), ("b", "cancelled", 4_000), ("c", "breached", 70_000)]
    wh.execute("OPTIMIZE TABLE outcome_stats_hourly FINAL")  # merged states: same figures
    assert _hourly(wh) == [(local_hour, 1, 1, [70_000], 1)]


def test_redelivered_events_collapse_and_local_time_is_the_regions(
    migrated_warehouse: ChdbWarehouse,
) -> None:
    wh = migrated_warehouse
    row = ("e1", "c1", "mrsk", "tver", "phone", "queued", T0, "complaint", "veteran",
           None, "agent-7", "outage", None, "cr_1", None, {"ivr": "2"})  # fmt: skip
    assert len(row) == len(EVENT_COLUMNS)
    for _ in range(3):
        wh.insert("events", EVENT_COLUMNS, [row])
    assert wh.query("SELECT count() FROM events") == [(3,)]
    assert wh.query("SELECT count() FROM events FINAL") == [(1,)]
    wh.execute("OPTIMIZE TABLE events FINAL")
    got = wh.query(
        "SELECT event_id, kind, customer_category, agent, office, attributes, timezone, "
        "occurred_local FROM events"
    )
    assert got == [("e1", "complaint", "veteran", "agent-7", None, {"ivr": "2"},
                    "Europe/Moscow", datetime(2026, 10, 5, 10, 0, tzinfo=UTC))]  # fmt: skip


def test_epoch_millisecond_ints_are_accepted_for_instants(
    migrated_warehouse: ChdbWarehouse,
) -> None:
    ms = int(T0.timestamp() * 1000) + 123
    migrated_warehouse.insert(
        "events", ["event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at"],
        [("e2", "c2", "mrsk", "kursk", "phone", "queued", ms)],
    )  # fmt: skip
    got = migrated_warehouse.query("SELECT toUnixTimestamp64Milli(occurred_at) FROM events")
    assert got == [(ms,)]


def test_newest_contact_version_wins_whatever_the_arrival_order(
    migrated_warehouse: ChdbWarehouse,
) -> None:
    wh = migrated_warehouse
    cols = ["tenant", "contact_id", "region", "channel", "kind", "customer_category", "status",
            "received_at", "updated_at", "event_count", "version"]  # fmt: skip
    newest = ("mrsk", "c1", "tver", "email", "inquiry", "standard", "closed", T0, T0, 3, 3)
    older = ("mrsk", "c1", "tver", "email", "inquiry", "standard", "registered", T0, T0, 1, 1)
    wh.insert("contacts", cols, [newest])
    wh.insert("contacts", cols, [older])
    assert wh.query("SELECT status, version FROM contacts FINAL") == [("closed", 3)]
    assert wh.query("SELECT argMax(status, version) FROM contacts") == [("closed",)]
