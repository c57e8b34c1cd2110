"""Three tenants' rows in every table an analyst can query (tests of POST /v1/sql).

Each tenant has a different number of rows per table, so a count that leaks another tenant's
rows is always wrong. One tenant's name carries a quote: the tenant filter must escape it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.ports import Warehouse

A, B, Q = "mrsk-a", "mrsk-b", "o'brien\\x"
#: rows per tenant in each table
COUNTS = {A: 3, B: 5, Q: 2}
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def seed(warehouse: Warehouse) -> None:
    for tenant, n in COUNTS.items():
        contacts = [f"{tenant}-c{i}" for i in range(n)]
        warehouse.insert(
            "events",
            ["event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at"],
            [(f"{c}-e", c, tenant, "tver", "phone", "queued", T0 + timedelta(minutes=i))
             for i, c in enumerate(contacts)],
        )
        warehouse.insert(
            "outcomes",
            ["outcome_id", "tenant", "contact_id", "milestone", "status", "started_at",
             "evaluated_at", "region", "channel"],
            [(f"{c}-o", tenant, c, "phone.answer", "met", T0, T0, "tver", "phone")
             for c in contacts],
        )
        warehouse.insert("contacts", ["tenant", "contact_id", "received_at", "updated_at"],
                         [(tenant, c, T0, T0) for c in contacts])
        warehouse.insert("alerts", ["alert_id", "alert", "tenant", "at"],
                         [(f"{c}-a", "breached", tenant, T0) for c in contacts])
        warehouse.insert("appeal_links",
                         ["tenant", "contact_id", "appeal_id", "appeal_started_at", "linked_at"],
                         [(tenant, c, f"{c}-ap", T0, T0) for c in contacts])
        warehouse.insert("remediation",
                         ["remediation_id", "tenant", "action_id", "step", "recorded_by", "at"],
                         [(f"{c}-r", tenant, f"{c}-x", "opened", "t", T0) for c in contacts])
