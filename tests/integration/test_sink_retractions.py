"""A retraction through the sink's mapper into chdb's alerts table: analysts count withdrawn
breaches and join each to its breach by alert_id (docs/analytics.md)."""

from __future__ import annotations

from typing import Any

from schemas.codec import encode
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.sink.rows import TABLE_COLUMNS, record_rows

T0 = 1_790_000_000_000
CLOCK: dict[str, Any] = {
    "contact_id": "c1", "milestone": "phone.answer", "started_at": T0, "due_at": T0 + 40_000,
    "target_ms": 40_000, "tenant": "mrsk", "region": "tver", "channel": "phone",
    "contact_kind": "inquiry", "customer_category": "standard", "office": None,
}


def test_retractions_are_counted_and_joined_to_their_breach(
    migrated_warehouse: ChdbWarehouse,
) -> None:
    breach = {**CLOCK, "alert_id": "b1", "alert": "breached", "threshold": None,
              "status": "breached", "stopped_at": None, "elapsed_ms": 40_000,
              "raised_at": T0 + 40_000}
    other = {**breach, "alert_id": "b2", "contact_id": "c2"}
    retraction = {**CLOCK, "retraction_id": "r1", "alert_id": "b1", "status": "met",
                  "reason": "answered in time, read late", "stopped_at": T0 + 35_000,
                  "elapsed_ms": 35_000, "retracted_at": T0 + 90_000}
    values = [encode("SlaAlertRaised", breach), encode("SlaAlertRaised", other),
              encode("SlaAlertRetracted", retraction), encode("SlaAlertRetracted", retraction)]
    rows = [row for value in values for _, row in record_rows(value)]
    migrated_warehouse.insert("alerts", TABLE_COLUMNS["alerts"], rows)

    q = "SELECT count() FROM alerts FINAL WHERE alert = 'retracted'"
    assert migrated_warehouse.query(q) == [(1,)]  # the re-emitted retraction collapsed
    joined = migrated_warehouse.query(
        "SELECT b.alert_id, r.status, r.elapsed_ms, dateDiff('second', b.at, r.at)"
        " FROM (SELECT * FROM alerts FINAL WHERE alert = 'breached') AS b"
        " INNER JOIN (SELECT * FROM alerts FINAL WHERE alert = 'retracted') AS r"
        " USING (alert_id)")
    assert joined == [("b1", "met", 35_000, 50)]
