"""The warehouse's side of the staffing plan: phone history as slot rows, and storm signals.

The fold is services/staffing/slots.py's, in SQL (a test keeps the two equal): per phone
contact its first ``queued`` instant, its queue (the latest named), answer or abandon and its
wait, handle time (talk + hold + acw attributes, else answered -> first resolved / closed /
registered / callback_requested), then counted per 15-minute slot. Duplicated events change
nothing: only minima, latest values and "there is one" are used. Every value is a bound
parameter; the tenant is always the API key's.
"""

from __future__ import annotations

from typing import Any

from schemas.units import HOUR_MS
from services.analytics.filters import EARLIEST_MS, LATEST_MS
from services.analytics.sql import DT, epoch_ms, instant
from services.ports import Warehouse
from services.staffing.forecast import SLOT_MS, SlotRow, StormSignal
from services.staffing.slots import HANDLE_END, MAX_HANDLE_MS

_ENDS = ", ".join(f"'{t.value}'" for t in HANDLE_END)
_TALK = ("toFloat64OrZero(attributes['talk_seconds']) + "
         "toFloat64OrZero(attributes['hold_seconds']) + "
         "toFloat64OrZero(attributes['acw_seconds'])")
_AFTER = "arrayFilter(x -> x >= answered, ends)"

SLOT_ROWS = (
    "SELECT call_region, call_queue, intDiv(toUnixTimestamp64Milli(queued), {slot:UInt64}) * "
    "{slot:UInt64} AS slot, count() AS offered, countIf(handle_ms >= 0) AS handled, "
    "sumIf(handle_ms, handle_ms >= 0) / 1000 AS handle_s, countIf(long_abandon) AS abandoned, "
    "(sumIf(answer_wait_ms, answered_n > 0) + sumIf(abandon_wait_ms, long_abandon)) / 1000 "
    "AS wait_s FROM ("
    "SELECT contact_id, any(region) AS call_region, "
    "argMaxIf(assumeNotNull(queue), occurred_at, queue IS NOT NULL AND queue != '') AS q, "
    "if(q = '', 'main', q) AS call_queue, "
    "minIf(occurred_at, type = 'queued') AS queued, countIf(type = 'queued') AS queued_n, "
    "minIf(occurred_at, type = 'answered') AS answered, "
    "countIf(type = 'answered') AS answered_n, "
    "minIf(occurred_at, type = 'abandoned') AS abandoned, "
    "countIf(type = 'abandoned') AS abandoned_n, "
    f"groupArrayIf(occurred_at, type IN ({_ENDS})) AS ends, "
    f"argMaxIf({_TALK}, occurred_at, mapContains(attributes, 'talk_seconds')) AS talk_s, "
    "countIf(mapContains(attributes, 'talk_seconds')) AS talk_n, "
    "greatest(0, toUnixTimestamp64Milli(answered) - toUnixTimestamp64Milli(queued)) "
    "AS answer_wait_ms, "
    "greatest(0, toUnixTimestamp64Milli(abandoned) - toUnixTimestamp64Milli(queued)) "
    "AS abandon_wait_ms, "
    "answered_n = 0 AND abandoned_n > 0 AND abandon_wait_ms > {short:UInt64} AS long_abandon, "
    "if(answered_n = 0, -1, if(talk_n > 0, toInt64(round(talk_s * 1000)), "
    f"if(empty({_AFTER}), -1, toUnixTimestamp64Milli(arrayMin({_AFTER})) - "
    "toUnixTimestamp64Milli(answered)))) AS raw_handle_ms, "
    "if(raw_handle_ms BETWEEN 0 AND {max_handle:Int64}, raw_handle_ms, -1) AS handle_ms "
    "FROM events WHERE tenant = {tenant:String} AND channel = 'phone' "
    "{region_clause}"
    f"AND occurred_at >= {{lo:{DT}}} AND occurred_at < {{hi:{DT}}} "
    "GROUP BY contact_id "
    f"HAVING queued_n > 0 AND queued >= {{start:{DT}}} AND queued < {{end:{DT}}}) "
    "GROUP BY call_region, call_queue, slot ORDER BY call_region, call_queue, slot "
)

STORMS = (
    "SELECT region, min(started_at) FROM alerts "
    "WHERE alert = 'outage_storm' AND tenant = {tenant:String} {region_clause}"
    f"AND at >= {{since:{DT}}} AND at <= {{until:{DT}}} AND started_at IS NOT NULL "
    "GROUP BY alert_id, region ORDER BY region "
)


class WarehouseError(RuntimeError):
    """The warehouse did not answer (not migrated, starting, or the query ran too long)."""

    @property
    def timed_out(self) -> bool:
        text = str(self)
        return "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text


def _query(warehouse: Warehouse, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    try:
        return warehouse.query(sql, params)
    except Exception as exc:  # the adapters raise their drivers' own errors
        raise WarehouseError(str(exc)[:500]) from exc


def _at(ms: int) -> Any:
    """An instant the warehouse can compare with (DateTime64 spans the years 1970..2299 here)."""
    return instant(min(max(ms, EARLIEST_MS), LATEST_MS - 1))


def _region(region: str | None) -> str:
    return "AND region = {region:String} " if region else ""


def slot_rows(warehouse: Warehouse, tenant: str, region: str | None, start_ms: int,
              end_ms: int, *, short_abandon_ms: int, settings_sql: str = "") -> list[SlotRow]:
    """Slot rows of the tenant's phone queues (of ``region``, or every region) for contacts
    that queued in [start_ms, end_ms)."""
    params: dict[str, Any] = {
        "tenant": tenant, "slot": SLOT_MS, "short": short_abandon_ms,
        "max_handle": MAX_HANDLE_MS, "start": _at(start_ms), "end": _at(end_ms),
        # a call's events lie around its queueing: IVR before it, the handle end after
        "lo": _at(start_ms - HOUR_MS), "hi": _at(end_ms + MAX_HANDLE_MS + HOUR_MS),
    }
    if region:
        params["region"] = region
    sql = SLOT_ROWS.replace("{region_clause}", _region(region)) + settings_sql
    return [SlotRow(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[5]),
                    int(r[6]), float(r[7])) for r in _query(warehouse, sql, params)]


def storm_signals(warehouse: Warehouse, tenant: str, region: str | None, since_ms: int,
                  until_ms: int, settings_sql: str = "") -> list[StormSignal]:
    """Outage storms of the tenant raised in [since_ms, until_ms] (their window's start)."""
    params: dict[str, Any] = {"tenant": tenant, "since": _at(since_ms), "until": _at(until_ms)}
    if region:
        params["region"] = region
    sql = STORMS.replace("{region_clause}", _region(region)) + settings_sql
    return [StormSignal(str(r[0]), epoch_ms(r[1])) for r in _query(warehouse, sql, params)]
