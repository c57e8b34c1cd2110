"""Every SQL statement the analytics API, what-if and backfill send, in one place.

Rules that keep these safe and correct:
* User values only ever travel as ``{name:Type}`` parameters. The only text assembled here is
  chosen from fixed fragments (filter clauses, whitelisted group-by expressions); nothing a
  caller typed is ever part of the SQL string.
* Every query is bounded: a tenant, a time range (validated to at most
  settings.query_max_days), a LIMIT, and ``max_execution_time`` in its SETTINGS.
* Duplicates: the sink delivers at-least-once, so a row can exist twice until
  ReplacingMergeTree merges it away (or forever, if it never merges). Each query below says
  how it stays exact: argMax over the revision time per natural key, ``LIMIT 1 BY`` the id,
  or uniqExact of the id. FINAL is avoided on the large tables because it forces a merge at
  read time; where the natural key is all we need, LIMIT 1 BY / argMax is cheaper and exact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.analytics.scope import Scope
from services.sink.rows import EVENT_COLUMNS

EVENTS = "events"
OUTCOMES = "outcomes"
ALERTS = "alerts"
METRICS = "metrics"

DT = "DateTime64(3, 'UTC')"



def epoch_ms(value: Any) -> int:
    """A DateTime64 as returned by either adapter (aware datetime) -> epoch milliseconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000 + 0.5) if value.microsecond % 1000 else (
            int(value.timestamp()) * 1000 + value.microsecond // 1000
        )
    return int(value)


def instant(epoch: int) -> datetime:
    """Epoch ms -> aware UTC datetime, the parameter form both adapters bind as DateTime64."""
    return datetime.fromtimestamp(epoch / 1000, UTC)


def settings_clause(max_execution_s: int, max_rows: int | None = None) -> str:
    """SETTINGS for a bounded read; the numbers come from Settings (ints), never from users."""
    parts = [f"max_execution_time = {int(max_execution_s)}"]
    if max_rows is not None:
        parts.append(f"max_result_rows = {int(max_rows) + 1}, result_overflow_mode = 'break'")
    return "SETTINGS " + ", ".join(parts)


# --- history: what-if and backfill -------------------------------------------------------------

def _scope_where(scope: Scope) -> str:
    clauses = ["1"]
    if scope.tenant is not None:
        clauses.append("tenant = {tenant:String}")
    if scope.regions:
        clauses.append("region IN {regions:Array(String)}")
    return " AND ".join(clauses)


def _first_seen_having(scope: Scope) -> str:
    clauses = ["1"]
    if scope.start_ms is not None:
        clauses.append(f"min(occurred_at) >= {{start:{DT}}}")
    if scope.end_ms is not None:
        clauses.append(f"min(occurred_at) < {{end:{DT}}}")
    return " AND ".join(clauses)


def _in_bucket() -> str:
    return "cityHash64(contact_id) % {buckets:UInt32} = {bucket:UInt32}"


def contact_events(scope: Scope) -> str:
    """Every event of the contacts (in one hash bucket) whose first event lies in scope."""
    cols = ", ".join(EVENT_COLUMNS)
    return (
        f"SELECT {cols} FROM {EVENTS} "
        f"WHERE {_scope_where(scope)} AND {_in_bucket()} AND contact_id IN ("
        f"SELECT contact_id FROM {EVENTS} WHERE {_scope_where(scope)} AND {_in_bucket()} "
        f"GROUP BY contact_id HAVING {_first_seen_having(scope)}) "
        "ORDER BY contact_id, occurred_at, event_id"
    )


def events_of_contacts() -> str:
    """Every stored event of the contacts in ``{ids:Array(String)}``, ordered as
    :func:`contact_events` returns them, each row one JSON array of :data:`EVENT_COLUMNS`
    (occurred_at as epoch ms) -- the sink's contacts projector; no FINAL: the fold
    deduplicates by event_id."""
    cols = ", ".join(c if c != "occurred_at" else "toUnixTimestamp64Milli(occurred_at)"
                     for c in EVENT_COLUMNS)
    # one JSON array per row (parsed with orjson by the caller): converting 16 typed cells per
    # row in the chdb adapter cost more than everything else the projector does
    return (
        f"SELECT formatRowNoNewline('JSONCompactEachRow', {cols}) FROM {EVENTS} "
        "WHERE contact_id IN {ids:Array(String)} ORDER BY contact_id, occurred_at, event_id"
    )


def stale_contacts() -> str:
    """Contacts with events ingested within ``{window_s}`` seconds before the newest stored
    event whose ``contacts`` row is missing or folded fewer distinct events (the projector's
    recovery after a restart; version = event_count, so max() is the newest row)."""
    recent = (f"SELECT DISTINCT contact_id FROM {EVENTS} WHERE ingested_at >= "
              f"(SELECT max(ingested_at) FROM {EVENTS}) - toIntervalSecond({{window_s:UInt32}})")
    return (
        f"SELECT e.contact_id FROM (SELECT contact_id, uniqExact(event_id) AS n FROM {EVENTS} "
        f"WHERE contact_id IN ({recent}) GROUP BY contact_id) AS e "
        f"LEFT JOIN (SELECT contact_id, max(event_count) AS m FROM contacts "
        f"WHERE contact_id IN ({recent}) GROUP BY contact_id) AS c ON e.contact_id = c.contact_id "
        "WHERE c.m < e.n"
    )


def contacts_in_scope(scope: Scope) -> str:
    """The ids of the contacts whose first event lies in scope (no bucket)."""
    return (f"SELECT contact_id FROM {EVENTS} WHERE {_scope_where(scope)} "
            f"GROUP BY contact_id HAVING {_first_seen_having(scope)}")


def count_contacts(scope: Scope) -> str:
    return f"SELECT count() FROM ({contacts_in_scope(scope)})"


def latest_event(scope: Scope) -> str:
    return (
        f"SELECT max(occurred_at), count() FROM {EVENTS} WHERE {_scope_where(scope)} "
        f"AND contact_id IN ({contacts_in_scope(scope)})"
    )


def scope_params(scope: Scope, bucket: int, buckets: int) -> dict[str, Any]:
    params: dict[str, Any] = {"bucket": bucket, "buckets": buckets}
    if scope.tenant is not None:
        params["tenant"] = scope.tenant
    if scope.start_ms is not None:
        params["start"] = instant(scope.start_ms)
    if scope.end_ms is not None:
        params["end"] = instant(scope.end_ms)
    if scope.regions:
        params["regions"] = list(scope.regions)
    return params


def delete_outcomes(tenant: str | None) -> str:
    if tenant is None:
        return f"TRUNCATE TABLE {OUTCOMES}"
    return (f"ALTER TABLE {OUTCOMES} DELETE WHERE tenant = {{tenant:String}} "
            "SETTINGS mutations_sync = 2")

