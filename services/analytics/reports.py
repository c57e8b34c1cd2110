"""SQL of the query API's reports. Fixed fragments only; every user value is a bound
``{name:Type}`` parameter (see services/analytics/sql.py for the rules and the duplicate
argument). Each builder returns ``(sql, params)``.
"""

from __future__ import annotations

from typing import Any

from services.analytics.filters import Dimension, ReportFilters
from services.analytics.sql import ALERTS, DT, EVENTS, METRICS, OUTCOMES, instant

#: Group-by dimension -> SQL expression over the deduplicated outcome subquery. The only way
#: a group-by reaches SQL is through this table.
GROUP_EXPR: dict[Dimension, str] = {
    Dimension.CHANNEL: "channel",
    Dimension.REGION: "region",
    Dimension.OFFICE: "ifNull(office, '')",
    Dimension.CATEGORY: "customer_category",
    Dimension.MILESTONE: "milestone",
    Dimension.KIND: "contact_kind",
    Dimension.DAY: "toDate(started_local)",
    Dimension.MONTH: "toStartOfMonth(started_local)",
    Dimension.POLICY_VERSION: "policy_version",
    Dimension.POLICY: "policy",
}

#: Filter -> (clause, parameter name); a clause is included only when values are given.
_FILTERS: tuple[tuple[str, str, str], ...] = (
    ("channels", "channel IN {channels:Array(String)}", "channels"),
    ("regions", "region IN {regions:Array(String)}", "regions"),
    ("offices", "ifNull(office, '') IN {offices:Array(String)}", "offices"),
    ("categories", "customer_category IN {categories:Array(String)}", "categories"),
    ("milestones", "milestone IN {milestones:Array(String)}", "milestones"),
)

def compliance(
    tenant: str, f: ReportFilters, limit: int, settings_sql: str
) -> tuple[str, dict[str, Any], list[str]]:
    """Compliance per group from ``outcomes``.

    Duplicates and revisions: read with FINAL. The table is ReplacingMergeTree(evaluated_at)
    keyed by (tenant, contact_id, milestone), so FINAL keeps exactly the newest revision of each
    clock -- a redelivered record or an older revision never counts. The filters are on
    columns outside the sorting key, so ClickHouse applies them after the FINAL merge: a clock
    is judged by its newest revision only. (argMax per key gives the same answer; measured
    7x slower at 2.5M clocks, see bench/queries.py.)
    """
    where = ["tenant = {tenant:String}",
             f"started_at >= {{start:{DT}}}", f"started_at < {{end:{DT}}}"]
    params: dict[str, Any] = {
        "tenant": tenant, "start": instant(f.period.start_ms), "end": instant(f.period.end_ms),
        "limit": limit + 1,
    }
    for attr, clause, name in _FILTERS:
        values = getattr(f, attr)
        if values:
            where.append(clause)
            params[name] = list(values)
    groups = [GROUP_EXPR[d] for d in f.group_by]
    select_groups = "".join(f"{expr} AS {d.value}, " for d, expr in zip(f.group_by, groups,
                                                                          strict=True))
    group_clause = f"GROUP BY {', '.join(d.value for d in f.group_by)} " if groups else ""
    order_clause = f"ORDER BY {', '.join(d.value for d in f.group_by)} " if groups else ""
    sql = (
        f"SELECT {select_groups}"
        "count() AS total, countIf(status = 'met') AS met, "
        "countIf(status = 'breached') AS breached, countIf(status = 'open') AS open, "
        "countIf(status = 'cancelled') AS cancelled, "
        "if(met + breached = 0, NULL, met / (met + breached)) AS service_level, "
        "avgIf(elapsed_ms, status IN ('met', 'breached')) / 1000 AS mean_elapsed_s, "
        "quantileExactIf(0.9)(elapsed_ms, status IN ('met', 'breached')) / 1000 "
        "AS p90_elapsed_s "
        f"FROM {OUTCOMES} FINAL WHERE {' AND '.join(where)} "
        f"{group_clause}{order_clause}LIMIT {{limit:UInt32}} {settings_sql}"
    )
    columns = [d.value for d in f.group_by] + [
        "total", "met", "breached", "open", "cancelled", "service_level", "mean_elapsed_s",
        "p90_elapsed_s",
    ]
    return sql, params, columns


def timeline_events(settings_sql: str) -> str:
    """All events of one contact; LIMIT 1 BY event_id drops redelivered copies."""
    return (
        "SELECT event_id, type, occurred_at, channel, region, kind, customer_category, office, "
        f"agent, queue, topic, attributes FROM {EVENTS} "
        "WHERE tenant = {tenant:String} AND contact_id = {contact_id:String} "
        "ORDER BY occurred_at, event_id LIMIT 1 BY event_id LIMIT {limit:UInt32} "
        f"{settings_sql}"
    )


#: a timeline clock's fields after its milestone; policy and policy_version say what judged it
TIMELINE_CLOCK_COLUMNS = ("status", "started_at", "due_at", "stopped_at", "elapsed_ms",
                          "target_ms", "warnings_crossed", "evaluated_at", "policy",
                          "policy_version")


def timeline_outcomes(settings_sql: str) -> str:
    """The current clock of each milestone: the newest revision by evaluated_at."""
    latest = ", ".join(f"argMax({c}, evaluated_at) AS latest_{c}"
                       for c in TIMELINE_CLOCK_COLUMNS)
    return (
        f"SELECT milestone, {latest} FROM {OUTCOMES} "
        "WHERE tenant = {tenant:String} AND contact_id = {contact_id:String} "
        f"GROUP BY milestone ORDER BY milestone LIMIT {{limit:UInt32}} {settings_sql}"
    )


def timeline_alerts(settings_sql: str) -> str:
    """Alerts of one contact; alert ids are deterministic, so LIMIT 1 BY drops re-emissions."""
    return (
        "SELECT alert_id, alert, milestone, status, threshold, elapsed_ms, target_ms, at "
        f"FROM {ALERTS} WHERE tenant = {{tenant:String}} AND contact_id = {{contact_id:String}} "
        "ORDER BY at, alert_id LIMIT 1 BY alert_id, alert LIMIT {limit:UInt32} "
        f"{settings_sql}"
    )


def regulatory(with_region: bool, settings_sql: str) -> str:
    """Appeals, complaints and service requests per channel and local year (order 186, app. 7).

    One row per contact first (GROUP BY contact_id): a redelivered event cannot add a contact.
    The year is that of the contact's first event in the region's local time.
    """
    region = "AND region IN {regions:Array(String)} " if with_region else ""
    return (
        "SELECT channel, toYear(first_local) AS year, count() AS appeals, "
        "sum(is_complaint) AS complaints, sum(is_service_request) AS service_requests FROM ("
        "SELECT contact_id, any(channel) AS channel, min(occurred_local) AS first_local, "
        "max(kind = 'complaint') AS is_complaint, "
        "max(kind = 'service_request') AS is_service_request "
        f"FROM {EVENTS} WHERE tenant = {{tenant:String}} "
        f"AND occurred_at >= {{start:{DT}}} AND occurred_at < {{end:{DT}}} {region}"
        "GROUP BY contact_id) "
        "WHERE toYear(first_local) IN ({year:UInt16} - 1, {year:UInt16}) "
        f"GROUP BY channel, year ORDER BY channel, year {settings_sql}"
    )


def live_metrics(with_channel: bool, with_region: bool, settings_sql: str) -> str:
    """The newest window per group, summed over the workers' partitions.

    FINAL on purpose: ``metrics`` is small (one row per partition, group and window) and FINAL
    keeps exactly the newest snapshot per (partition, group, window, window_start) -- a
    redelivered or older snapshot must not be summed.
    """
    extra = ""
    if with_channel:
        extra += "AND channel IN {channels:Array(String)} "
    if with_region:
        extra += "AND region IN {regions:Array(String)} "
    return (
        "SELECT channel, region, office, window, window_start, window_end, max(taken_at), "
        "sum(offered), sum(answered), sum(abandoned), sum(short_abandoned), "
        "sum(answered_within_target), sum(wait_sum_ms), max(longest_wait_ms), "
        "sum(waiting_now), sum(breaches) "
        f"FROM {METRICS} FINAL WHERE tenant = {{tenant:String}} AND window = {{window:String}} "
        f"AND window_start >= {{since:{DT}}} {extra}"
        "GROUP BY channel, region, office, window, window_start, window_end "
        "ORDER BY channel, region, office, window_start DESC "
        "LIMIT 1 BY channel, region, office LIMIT {limit:UInt32} "
        f"{settings_sql}"
    )


#: Dimensions of the minute-fresh daily table (schemas/clickhouse/011_sl_daily.sql).
DAILY_EXPR: dict[Dimension, str] = {
    Dimension.CHANNEL: "channel",
    Dimension.REGION: "region",
    Dimension.CATEGORY: "customer_category",
    Dimension.MILESTONE: "milestone",
    Dimension.DAY: "local_day",
    Dimension.MONTH: "toStartOfMonth(local_day)",
}
_DAILY_FILTERS = tuple(f for f in _FILTERS if f[0] != "offices")
LATEST_REFRESH = (
    "(SELECT max(refreshed_at) FROM sl_daily WHERE refreshed_at <= "
    "(SELECT max(last_success_time) FROM system.view_refreshes "
    "WHERE view = 'sl_daily_refresh'))"
)


def daily(tenant: str, f: ReportFilters, limit: int,
          settings_sql: str) -> tuple[str, dict[str, Any], list[str]]:
    """Compliance per group from ``sl_daily``: the newest complete refresh only (every row of
    a refresh is a distinct group of one recomputation over outcomes FINAL, so there is
    nothing to deduplicate). ``f.period`` holds local days (midnight UTC stamps of them)."""
    where = ["tenant = {tenant:String}", f"refreshed_at = {LATEST_REFRESH}",
             "local_day >= {d0:Date}", "local_day < {d1:Date}"]
    params: dict[str, Any] = {
        "tenant": tenant, "d0": instant(f.period.start_ms).date(),
        "d1": instant(f.period.end_ms).date(), "limit": limit + 1,
    }
    for attr, clause, name in _DAILY_FILTERS:
        values = getattr(f, attr)
        if values:
            where.append(clause)
            params[name] = list(values)
    names = [d.value for d in f.group_by]
    select_groups = "".join(f"{DAILY_EXPR[d]} AS {d.value}, " for d in f.group_by)
    group_clause = f"GROUP BY {', '.join(names)} ORDER BY {', '.join(names)} " if names else ""
    sql = (
        f"SELECT {select_groups}sum(total) AS n, sum(met) AS m, sum(breached) AS b, "
        "sum(open) AS o, sum(cancelled) AS c, if(m + b = 0, NULL, m / (m + b)), "
        "if(m + b = 0, NULL, sum(decided_elapsed_ms) / (m + b) / 1000) "
        f"FROM sl_daily WHERE {' AND '.join(where)} "
        f"{group_clause}LIMIT {{limit:UInt32}} {settings_sql}"
    )
    columns = names + ["total", "met", "breached", "open", "cancelled", "service_level",
                       "mean_elapsed_s"]
    return sql, params, columns
