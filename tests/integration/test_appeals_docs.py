"""Every ```sql block of docs/appeals.md runs against a chdb warehouse holding the appeal seed
(tests/integration/appeals_seed.py, with redelivered rows) and must return the figures the
pure core computes from the seed itself (never by running SQL)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.migrate import migrate
from streams.sla.appeals import Appeal, appeals_from_events, summarise
from streams.sla.remediation import (
    Complaint,
    complaint_of,
    fold_actions,
    load_remediation,
    overdue,
    recurrences,
    root_causes_by_region_month,
)
from tests.integration import appeals_seed as seed

DOC = Path(__file__).resolve().parents[2] / "docs" / "appeals.md"
BLOCKS = {
    re.search(r"-- question: (\w+)", b).group(1): b  # type: ignore[union-attr]
    for b in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
}
DATA = seed.build()
Rows = list[tuple[Any, ...]]


def _ms(text: str) -> int:
    return seed.parse_timestamp(text)


def _appeals(start: str, end: str) -> list[Appeal]:
    mine = [e for e in DATA.events if e.tenant == seed.TENANT]
    lo, hi = _ms(start), _ms(end)
    return [a for a in appeals_from_events(mine, seed.WINDOW) if lo <= a.started_at < hi]


def _complaints(end: str) -> list[Complaint]:
    per: dict[str, list[Any]] = {}
    for e in DATA.events:
        if e.tenant == seed.TENANT:
            per.setdefault(e.contact_id, []).append(e)
    found = [complaint_of(evs) for evs in per.values()]
    return [c for c in found if c is not None and c.received_at < _ms(end)]


def by_channel() -> Rows:
    rows = summarise(_appeals("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"), ["channel"])
    return [(r["channel"], r["appeals"], r["contacts"], r["repeat_appeals"], r["wait_ms"],
             r["fcr_rate"]) for r in rows]  # fmt: skip


def by_category() -> Rows:
    rows = summarise(_appeals("2026-09-01T00:00:00Z", "2026-12-01T00:00:00Z"),
                     ["customer_category"])  # fmt: skip
    rows.sort(key=lambda r: (r["customer_category"] == "standard", r["customer_category"]))
    return [(r["customer_category"], r["appeals"], r["avg_wait_ms"] / 60000,
             r["contacts_per_appeal"], r["fcr_rate"]) for r in rows]  # fmt: skip


def root_causes() -> Rows:
    return list(root_causes_by_region_month(_complaints("2026-12-01T00:00:00Z")))


def overdue_actions() -> Rows:
    at = _ms("2026-11-20T00:00:00Z")
    steps = [s for s in DATA.steps if s.tenant == seed.TENANT and s.at <= at]
    return [(a.action_id, a.owner, datetime.fromtimestamp((a.due_at or 0) / 1000, UTC),
             list(a.complaint_ids)) for a in overdue(fold_actions(steps, load_remediation()), at)]


def recurred() -> Rows:
    actions = fold_actions([s for s in DATA.steps if s.tenant == seed.TENANT],
                           load_remediation())  # fmt: skip
    pairs = recurrences(_complaints("2026-12-01T00:00:00Z"), actions)
    return [(c.contact_id, c.root_cause, a.action_id) for c, a in pairs]


EXPECTED: dict[str, Callable[[], Rows]] = {
    "appeals_by_channel": by_channel,
    "customer_time_by_category": by_category,
    "root_causes_by_region_month": root_causes,
    "overdue_actions": overdue_actions,
    "recurrences_after_completion": recurred,
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbWarehouse]:
    wh = ChdbWarehouse(tmp_path_factory.mktemp("appeals_docs") / "warehouse")
    try:
        migrate(wh)
        seed.load(wh, DATA)
        yield wh
    finally:
        wh.close()


def test_every_block_has_an_expectation() -> None:
    assert set(BLOCKS) == set(EXPECTED)


@pytest.mark.parametrize("question", sorted(EXPECTED))
def test_documented_query_returns_the_core_figures(
    question: str, warehouse: ChdbWarehouse
) -> None:
    want = EXPECTED[question]()
    assert want, f"the seed gives {question} nothing to find; the check would be vacuous"
    got = warehouse.query(BLOCKS[question])
    assert len(got) == len(want), f"{question}\n got: {got}\nwant: {want}"
    for g, w in zip(got, want, strict=True):
        for gv, wv in zip(g, w, strict=True):
            same = gv == pytest.approx(wv) if isinstance(wv, float) else gv == wv
            assert same, f"{question}\n got: {g}\nwant: {w}"
