"""Every ```sql block of docs/analytics.md runs against a chdb warehouse holding the seed of
tests/fixtures/analytics_seed.py (with redelivered and out-of-order rows), and returns the
figures computed here in plain Python from the seed itself -- never by running SQL.

A block names its question with a ``-- question: <id>`` line; each id has an expectation
below, and a block without one (or an expectation without a block) fails the test.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from tests.fixtures.analytics_seed import (
    MOSCOW_MS,
    NOW_MS,
    POLICY_EFFECTIVE_MS,
    TARGETS,
    Contact,
    H,
    Outcome,
    Seed,
    _dt,
    contact_rows,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
BLOCKS = {
    re.search(r"-- question: (\w+)", block).group(1): block  # type: ignore[union-attr]
    for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
}
Rows = list[tuple[Any, ...]]


def _ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)


def local(ms: int) -> int:
    return ms + MOSCOW_MS  # all seeded regions are Moscow time


def in_local(ms: int, start: int, end: int) -> bool:
    return start <= local(ms) < end


OCT = (_ms(2026, 10, 1), _ms(2026, 11, 1))
YEAR_2026 = (_ms(2026, 1, 1), _ms(2027, 1, 1))


def quantile_exact(values: list[int], level: float) -> int:
    """ClickHouse quantileExact: the element at index floor(level * n) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(int(level * len(ordered)), len(ordered) - 1)]


def tver_waits(seed: Seed) -> Rows:
    by_hour: dict[int, list[int]] = defaultdict(list)
    for c in seed.contacts:
        queued, stop = c.first("queued"), c.first("answered", "abandoned")
        tver_call = c.region == "tver" and c.channel == "phone"
        if tver_call and queued and stop and in_local(queued, *OCT):
            by_hour[_dt(local(queued)).hour].append(stop - queued)
    return [
        (h, len(w), sum(x > 40_000 for x in w), sum(x > 40_000 for x in w) / len(w))
        for h, w in sorted(by_hour.items())
    ]


def complaints(seed: Seed) -> Rows:
    end = _ms(2026, 11, 15)
    counts = Counter(
        (c.region, c.channel)
        for c in seed.contacts
        if c.kind == "complaint" and in_local(c.first("received") or 0, end - 30 * 24 * H, end)
    )
    return sorted((r, ch, n) for (r, ch), n in counts.items())


def kursk_office(seed: Seed) -> Rows:
    split = _ms(2026, 10, 15)
    periods: dict[str, list[int]] = {"before": [], "after": []}
    for o in seed.outcomes:
        c = o.contact
        visit = o.milestone == "office.wait" and c.region == "kursk" and o.stopped is not None
        if visit and in_local(o.started, _ms(2026, 9, 15), _ms(2026, 11, 15)):
            periods["before" if local(o.started) < split else "after"].append(o.elapsed)
    return [
        (name, len(w), sum(w) / len(w) / 60_000, quantile_exact(w, 0.9) / 60_000,
         sum(x > 30 * 60_000 for x in w))
        for name, w in periods.items() if w
    ]  # fmt: skip


def regulatory(seed: Seed) -> Rows:
    counts: Counter[tuple[str, str, int]] = Counter()
    for c in seed.contacts:
        year = _dt(local(c.first("received") or 0)).year
        counts[(c.channel, "appeals", year)] += 1
        if c.kind in ("complaint", "service_request"):
            counts[(c.channel, c.kind, year)] += 1
    return [
        (ch, *(counts[(ch, what, y)] for what in ("appeals", "complaint", "service_request")
               for y in (2025, 2026)))
        for ch in sorted({c.channel for c in seed.contacts})
    ]  # fmt: skip


def phone_service_level(seed: Seed) -> Rows:
    status: dict[str, Counter[str]] = defaultdict(Counter)
    for o in seed.outcomes:
        if o.milestone == "phone.answer" and in_local(o.started, *OCT):
            status[o.contact.region][o.status] += 1
    return [
        (r, s["met"], s["breached"], s["cancelled"], s["met"] / (s["met"] + s["breached"]))
        for r, s in sorted(status.items())
    ]


def asa_abandon(seed: Seed) -> Rows:
    per_region: dict[str, list[Contact]] = defaultdict(list)
    for c in seed.contacts:
        queued = c.first("queued")
        if c.channel == "phone" and queued is not None and in_local(queued, *OCT):
            per_region[c.region].append(c)
    rows = []
    for region, calls in sorted(per_region.items()):
        answered = [c for c in calls if c.first("answered")]
        waits = [(c.first("answered") or 0) - (c.first("queued") or 0) for c in answered]
        gone = [
            (c.first("abandoned") or 0) - (c.first("queued") or 0)
            for c in calls
            if c.first("abandoned") and not c.first("answered")
        ]
        long_gone = sum(w > 5000 for w in gone)
        short = len(gone) - long_gone
        rows.append((region, len(calls), len(answered), long_gone, short,
                     sum(waits) / len(waits) / 1000, long_gone / (len(calls) - short)))  # fmt: skip
    return rows


def email_dispatch(seed: Seed) -> Rows:
    by_region: dict[str, list[int]] = defaultdict(list)
    for o in seed.outcomes:
        decided = o.milestone == "email.dispatch" and o.status in ("met", "breached")
        if decided and in_local(o.started, *YEAR_2026):
            by_region[o.contact.region].append(o.elapsed)
    return [
        (r, len(e), quantile_exact(e, 0.5) / 3_600_000, quantile_exact(e, 0.9) / 3_600_000)
        for r, e in sorted(by_region.items())
    ]


def breaches_by_category(seed: Seed) -> Rows:
    status: dict[str, Counter[str]] = defaultdict(Counter)
    for o in seed.outcomes:
        if in_local(o.started, *YEAR_2026):
            status[o.contact.category][o.status] += 1
    order = sorted(status, key=lambda k: (k == "standard", k))
    rows = []
    for k in order:
        decided = status[k]["met"] + status[k]["breached"]
        rows.append((k, decided, status[k]["breached"], status[k]["breached"] / decided))
    return rows


def overdue(seed: Seed) -> Rows:
    late: dict[str, list[Outcome]] = defaultdict(list)
    for o in seed.outcomes:
        if o.stopped is None and o.started + o.target < NOW_MS:
            late[o.milestone].append(o)
    return [  # dateDiff('hour') counts hour boundaries crossed (UTC hours here)
        (m, len(os), max(NOW_MS // H - (o.started + o.target) // H for o in os))
        for m, os in sorted(late.items())
    ]


def breach_alerts(seed: Seed) -> Rows:
    unique = {(a[0], a[1]): a for a in seed.alerts}
    acked = {alert_id for alert_id, alert in unique if alert == "acknowledged"}
    start, end = _dt(OCT[0]), _dt(OCT[1])
    regions: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (alert_id, alert), row in unique.items():
        at = row[13]
        assert isinstance(at, datetime)
        if start <= at < end:
            counts = regions[str(row[3])]
            if alert == "breached":
                counts[0] += 1
                counts[1] += alert_id in acked
    return [(r, n, a) for r, (n, a) in sorted(regions.items())]


def breaches_retracted(seed: Seed) -> Rows:
    unique = {(a[0], a[1]): a for a in seed.alerts}
    retracted = {alert_id for alert_id, alert in unique if alert == "retracted"}
    start, end = _dt(OCT[0]), _dt(OCT[1])
    regions: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (alert_id, alert), row in unique.items():
        at = row[13]
        assert isinstance(at, datetime)
        if alert == "breached" and start <= at < end:
            counts = regions[str(row[3])]
            counts[0] += 1
            counts[1] += alert_id in retracted
    return [(r, n, k, n - k) for r, (n, k) in sorted(regions.items())]


def tver_windows(seed: Seed) -> Rows:
    newest: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    for row in seed.metrics:
        key = (row[7], row[1])  # window_start, partition
        if key not in newest or row[9] > newest[key][9]:
            newest[key] = row
    by_window: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for (start, _), row in newest.items():
        by_window[start].append(row)
    rows = []
    for start, snaps in sorted(by_window.items()):
        offered, answered = sum(r[10] for r in snaps), sum(r[11] for r in snaps)
        short, within = sum(r[13] for r in snaps), sum(r[14] for r in snaps)
        rows.append((start, offered, answered, within / (offered - short),
                     sum(r[15] for r in snaps) / answered / 1000))  # fmt: skip
    return rows


def follow_ups(seed: Seed) -> Rows:
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in seed.contacts:
        if in_local(c.first("received") or 0, *YEAR_2026):
            kinds[c.kind][0] += 1
            kinds[c.kind][1] += c.related_to is not None
    return [(k, n, f, f / n) for k, (n, f) in sorted(kinds.items())]


def open_appeals(seed: Seed) -> Rows:
    steps = Counter(
        (c.channel, contact_rows(c)[-1][7]) for c in seed.contacts if c.events[-1][0] != "closed"
    )
    return sorted((ch, step, n) for (ch, step), n in steps.items())


def phone_by_policy_version(seed: Seed) -> Rows:
    status: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for o in seed.outcomes:
        if o.milestone == "phone.answer" and in_local(o.started, *OCT):
            status[(o.policy_version, o.policy)][o.status] += 1
    in_force = _dt(POLICY_EFFECTIVE_MS)
    return [
        (v, p, in_force if v else None, TARGETS["phone.answer"] / 1000 if v else None,
         sum(s.values()), s["met"], s["breached"], s["met"] / (s["met"] + s["breached"]))
        for (v, p), s in sorted(status.items())
    ]  # fmt: skip


EXPECTED: dict[str, Callable[[Seed], Rows]] = {
    "tver_waits_over_40s_by_hour": tver_waits,
    "complaints_past_30_days": complaints,
    "kursk_office_wait_before_after": kursk_office,
    "regulatory_report_year_over_year": regulatory,
    "phone_service_level_by_region": phone_service_level,
    "phone_service_level_from_daily_view": phone_service_level,
    "asa_and_abandon_rate": asa_abandon,
    "email_time_to_assignment_quantiles": email_dispatch,
    "breaches_by_customer_category": breaches_by_category,
    "overdue_now_by_milestone": overdue,
    "breach_alerts_acknowledged": breach_alerts,
    "breaches_retracted": breaches_retracted,
    "tver_15m_windows": tver_windows,
    "follow_up_share_by_kind": follow_ups,
    "open_appeals_by_step": open_appeals,
    "phone_calls_by_policy_version": phone_by_policy_version,
}


def test_every_block_has_an_expectation_and_there_are_at_least_12() -> None:
    assert set(BLOCKS) == set(EXPECTED)
    assert len(BLOCKS) >= 12


def _same(got: Rows, want: Rows) -> bool:
    if len(got) != len(want):
        return False
    for g_row, w_row in zip(got, want, strict=True):
        if len(g_row) != len(w_row):
            return False
        for g, w in zip(g_row, w_row, strict=True):
            if isinstance(w, float) or isinstance(g, float):
                if not math.isclose(float(g), float(w), rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif g != w:
                return False
    return True


@pytest.mark.parametrize("question", sorted(EXPECTED))
def test_documented_query_returns_the_independently_computed_figures(
    question: str, analytics_warehouse: ChdbWarehouse, analytics_seed: Seed
) -> None:
    want = EXPECTED[question](analytics_seed)
    assert want, f"the seed gives {question} nothing to find; the check would be vacuous"
    got = analytics_warehouse.query(BLOCKS[question])
    assert _same(got, want), f"{question}\n got: {got}\nwant: {want}"


def test_seed_really_contains_duplicates(analytics_warehouse: ChdbWarehouse) -> None:
    for table in ("events", "outcomes", "alerts"):
        raw = analytics_warehouse.query(f"SELECT count() FROM {table}")[0][0]
        final = analytics_warehouse.query(f"SELECT count() FROM {table} FINAL")[0][0]
        assert raw > final, table
