"""SQL of the appeal reports (over the parameterized views of migration 009).

Same rules as services/analytics/sql.py: user values travel only as bound parameters, the
grouping expressions come from a fixed whitelist, and every query is bounded by a tenant, a
validated period (at most settings.query_max_days), a LIMIT and max_execution_time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.analytics.filters import ReportFilters
from services.analytics.sql import instant

DT = "DateTime64(3, 'UTC')"
#: group-by name (API) -> column of appeal_figures
APPEAL_DIMENSIONS: dict[str, str] = {
    "channel": "channel",
    "region": "region",
    "office": "ifNull(office, '')",
    "category": "customer_category",
}
SUMMARY_COLUMNS = ["appeals", "contacts", "contacts_per_appeal", "repeat_appeals", "wait_ms",
                   "avg_wait_ms", "max_wait_ms", "resolved", "fcr", "fcr_rate"]  # fmt: skip
APPEAL_COLUMNS = ["appeal_id", "started_at", "channel", "region", "office", "customer_category",
                  "topic", "contacts", "contact_ids", "wait_ms", "waiting_open", "resolved",
                  "first_contact_resolution"]  # fmt: skip
_VIEW = (f"appeal_figures(tenant = {{tenant:String}}, start = {{start:{DT}}}, "
         f"end = {{end:{DT}}})")  # fmt: skip


def _where(filters: ReportFilters) -> str:
    clauses = ["1"]
    if filters.channels:
        clauses.append("channel IN {channels:Array(String)}")
    if filters.regions:
        clauses.append("region IN {regions:Array(String)}")
    if filters.offices:
        clauses.append("ifNull(office, '') IN {offices:Array(String)}")
    if filters.categories:
        clauses.append("customer_category IN {categories:Array(String)}")
    return " AND ".join(clauses)


def params(tenant: str, filters: ReportFilters) -> dict[str, Any]:
    return {
        "tenant": tenant, "start": instant(filters.period.start_ms),
        "end": instant(filters.period.end_ms), "channels": list(filters.channels),
        "regions": list(filters.regions), "offices": list(filters.offices),
        "categories": list(filters.categories),
    }  # fmt: skip


def summary(
    filters: ReportFilters, group_by: Sequence[str], limit: int, settings: str
) -> tuple[str, list[str]]:
    """Appeals, contacts per appeal, customer waits and FCR per group."""
    dims = [f"{APPEAL_DIMENSIONS[g]} AS {g}" for g in group_by]
    keys = ", ".join(group_by)
    sql = (
        f"SELECT {', '.join([*dims, ''])}"
        "count() AS appeals, sum(n_contacts) AS contacts, contacts / appeals AS "
        "contacts_per_appeal, countIf(n_contacts > 1) AS repeat_appeals, sum(wait) AS wait_ms, "
        "wait_ms / appeals AS avg_wait_ms, max(wait) AS max_wait_ms, countIf(is_resolved) AS "
        "resolved, countIf(is_fcr) AS fcr, fcr / appeals AS fcr_rate "
        "FROM (SELECT *, contacts AS n_contacts, wait_ms AS wait, resolved AS is_resolved, "
        f"first_contact_resolution AS is_fcr FROM {_VIEW} WHERE {_where(filters)}) "
        + (f"GROUP BY {keys} ORDER BY {keys} " if group_by else "")
        + f"LIMIT {int(limit) + 1} {settings}"
    )
    return sql, [*group_by, *SUMMARY_COLUMNS]


def appeal_list(filters: ReportFilters, limit: int, settings: str) -> tuple[str, list[str]]:
    """The appeals themselves, oldest first (e.g. every repeat appeal of a region)."""
    sql = (
        f"SELECT {', '.join(APPEAL_COLUMNS)} FROM {_VIEW} WHERE {_where(filters)} "
        f"AND contacts >= {{min_contacts:UInt32}} ORDER BY started_at, appeal_id "
        f"LIMIT {int(limit) + 1} {settings}"
    )
    return sql, APPEAL_COLUMNS


CATEGORY_COLUMNS = ["category", "priority", "clocks_decided", "clocks_breached", "breach_rate",
                    "appeals", "avg_wait_ms", "contacts_per_appeal", "fcr_rate"]  # fmt: skip


def categories(filters: ReportFilters, settings: str) -> tuple[str, list[str]]:
    """Per customer category: SLA clocks decided/breached (latest outcome per contact and
    milestone, started in the period) next to appeals, average customer wait and FCR rate."""
    where = _where(filters)
    sql = (
        "SELECT category, category != 'standard' AS priority, clocks_decided, clocks_breached, "
        "clocks_breached / clocks_decided AS breach_rate, appeals, avg_wait_ms, "
        "contacts_per_appeal, fcr_rate FROM ("
        "SELECT customer_category AS category, countIf(status IN ('met', 'breached')) AS "
        "clocks_decided, countIf(status = 'breached') AS clocks_breached FROM ("
        "SELECT customer_category, channel, region, argMax(status, evaluated_at) AS status "
        "FROM outcomes WHERE tenant = {tenant:String} "
        f"AND started_at >= {{start:{DT}}} AND started_at < {{end:{DT}}} "
        "GROUP BY contact_id, milestone, customer_category, channel, region) "
        f"WHERE {where} GROUP BY category) AS o "
        "FULL OUTER JOIN (SELECT customer_category AS category, count() AS appeals, "
        "avg(wait_ms) AS avg_wait_ms, sum(contacts) / count() AS contacts_per_appeal, "
        f"countIf(first_contact_resolution) / count() AS fcr_rate FROM {_VIEW} WHERE {where} "
        "GROUP BY category) AS a USING (category) "
        f"ORDER BY priority DESC, category {settings}"
    )
    return sql, CATEGORY_COLUMNS
