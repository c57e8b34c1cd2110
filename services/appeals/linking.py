"""`kontakt appeals link`: the appeal_links projection, computed by the pure core.

Why a projection and not SQL: linking contacts into appeals is union-find over two kinds of
edges (``related_to``, and the same customer and topic within a window), i.e. connected
components -- not something one SQL pass does. So the raw events of the contacts in scope are
read back (as `kontakt backfill` does), each contact's figures are computed with
:func:`streams.sla.appeals.customer_time`, the contacts are linked with
:func:`streams.sla.appeals.link`, and one row per contact is written to ``appeal_links``.
The customer-time figures themselves are NOT written: the ClickHouse views compute them in SQL
from the raw events, so the stored figures never go stale and the SQL and the core check each
other (tests/integration/test_appeals_e2e.py).

Contacts are read in hash buckets (bounded memory per query), but linked all together: two
contacts of one customer fall into different buckets. Only contacts whose first event lies in
the scope are linked, so run it over a period at least one window wider than the one you
report on; a rebuild writes rows with a later ``linked_at`` that supersede the earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.analytics import history
from services.analytics.scope import Scope
from services.ports import Warehouse
from streams.sla.appeals import ContactTime, appeals, customer_time

LINK_COLUMNS = ("tenant", "contact_id", "appeal_id", "appeal_started_at", "window_ms",
                "linked_at")  # fmt: skip


@dataclass(frozen=True, slots=True)
class LinkResult:
    contacts: int
    appeals: int
    repeat_appeals: int


def contact_times(warehouse: Warehouse, scope: Scope) -> list[ContactTime]:
    """Customer time of every contact whose first event is in scope (from the raw events)."""
    buckets = history.buckets_for(history.count_contacts(warehouse, scope))
    return [
        customer_time(events)
        for bucket in history.contacts_in_buckets(warehouse, scope, buckets)
        for events in bucket
    ]


def link_appeals(
    warehouse: Warehouse, scope: Scope, *, window_ms: int, linked_at: int
) -> LinkResult:
    """Link the contacts in scope into appeals and write their appeal_links rows."""
    times = contact_times(warehouse, scope)
    found = appeals(times, window_ms)
    rows = [
        (a.tenant, cid, a.appeal_id, a.started_at, window_ms, linked_at)
        for a in found
        for cid in a.contact_ids
    ]
    for start in range(0, len(rows), 100_000):
        warehouse.insert("appeal_links", LINK_COLUMNS, rows[start:start + 100_000])
    return LinkResult(len(times), len(found), sum(a.contacts > 1 for a in found))
