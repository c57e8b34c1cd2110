"""Every ClickHouse query of the shipped Grafana dashboards (deploy/grafana/dashboards), its
template variables' included, runs on a migrated chdb warehouse holding the analytics seed
(tests/fixtures/analytics_seed.py, with its redelivered and out-of-order rows), with the
grafana-clickhouse-datasource macros expanded as the plugin expands them for a fixed time range.
Every panel returns rows, and the service level by channel equals the figure computed in Python
from the seed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from tests.fixtures.analytics_seed import NOW, REGIONS, TENANT, Seed

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
FROM = datetime(2026, 10, 1, tzinfo=UTC)
TO = NOW  # the seed's "now"
INTERVAL_S = 86_400
VARIABLES = {"tenant": TENANT, "region": list(REGIONS)}


def expand(sql: str, start: datetime, end: datetime, variables: dict[str, Any]) -> str:
    """The plugin's macros (v4) and Grafana's variable formats used by the dashboards."""
    lo, hi = int(start.timestamp()), int(end.timestamp())

    def time_filter(m: re.Match[str]) -> str:
        col = m.group(1)
        return f"{col} >= toDateTime({lo}) AND {col} <= toDateTime({hi})"

    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", time_filter, sql)
    sql = re.sub(
        r"\$__timeInterval\(([^)]+)\)",
        lambda m: f"toStartOfInterval(toDateTime({m.group(1)}), INTERVAL {INTERVAL_S} second)",
        sql,
    )
    sql = sql.replace("$__fromTime", f"toDateTime({lo})").replace("$__toTime", f"toDateTime({hi})")

    def variable(m: re.Match[str]) -> str:
        value = variables[m.group(1)]
        values = value if isinstance(value, list) else [value]
        if m.group(2) == "singlequote":
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
        assert m.group(2) is None, f"unexpected variable format {m.group(2)}"
        return ",".join(values)

    sql = re.sub(r"\$\{(\w+)(?::(\w+))?\}", variable, sql)
    assert "$" not in sql, f"a macro or variable is left unexpanded: {sql}"
    return sql


def clickhouse_queries() -> list[tuple[str, str]]:
    """(panel title, rawSql) of every ClickHouse panel; template variables as 'var NAME'."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for var in board.get("templating", {}).get("list", []):
            if var.get("datasource", {}).get("type") == "grafana-clickhouse-datasource":
                found.append((f"{path.stem}: var {var['name']}", var["query"]))
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == "grafana-clickhouse-datasource":
                    found.append((f"{path.stem}: {panel['title']}", target["rawSql"]))
    return found


QUERIES = clickhouse_queries()


def test_the_contact_centre_dashboard_has_its_panels() -> None:
    titles = {t.split(": ", 1)[1] for t, _ in QUERIES}
    for needle in ("Service level by channel", "Service level by region", "Breaches over time",
                   "Abandon rate", "ASA", "Open at-risk"):  # fmt: skip
        assert any(needle in t for t in titles), f"no panel {needle!r}"


@pytest.mark.parametrize("title,sql", QUERIES, ids=[t for t, _ in QUERIES])
def test_every_dashboard_query_runs_and_returns_rows(
    title: str, sql: str, analytics_warehouse: ChdbWarehouse
) -> None:
    rows = analytics_warehouse.query(expand(sql, FROM, TO, VARIABLES))
    assert rows, f"{title}: no rows for {FROM:%Y-%m-%d}..{TO:%Y-%m-%d}"
    if "service_level" in sql or "abandon_rate" in sql:
        ratios = [v for row in rows for v in row if isinstance(v, float)]
        assert ratios and all(0 <= v <= 1 for v in ratios), f"{title}: {rows}"


def test_the_region_variable_narrows_the_panels(analytics_warehouse: ChdbWarehouse) -> None:
    sql = dict(QUERIES)["contact-centre: Service level by region"]
    rows = analytics_warehouse.query(expand(sql, FROM, TO, {**VARIABLES, "region": ["tver"]}))
    assert [row[0] for row in rows] == ["tver"]


def test_service_level_by_channel_matches_the_seed(
    analytics_warehouse: ChdbWarehouse, analytics_seed: Seed
) -> None:
    lo, hi = int(FROM.timestamp() * 1000), int(TO.timestamp() * 1000)
    want: dict[str, list[int]] = {}
    for o in analytics_seed.outcomes:
        if lo <= o.started <= hi:  # $__timeFilter is inclusive at both ends
            counts = want.setdefault(o.contact.channel, [0, 0])
            counts[0] += o.status == "met"
            counts[1] += o.status == "breached"
    sql = dict(QUERIES)["contact-centre: Service level by channel"]
    got = {
        row[0]: (row[1], row[2])
        for row in analytics_warehouse.query(expand(sql, FROM, TO, VARIABLES))
    }
    assert got == {channel: (met, breached) for channel, (met, breached) in want.items()}


def test_at_risk_contacts_are_open_with_most_of_their_target_used(
    analytics_warehouse: ChdbWarehouse, analytics_seed: Seed
) -> None:
    to_ms = int(TO.timestamp() * 1000)
    want = {
        (o.contact.contact_id, o.milestone)
        for o in analytics_seed.outcomes
        if o.status == "open" and o.started + o.target * 4 // 5 <= to_ms
    }
    sql = dict(QUERIES)["contact-centre: At-risk contacts, nearest deadline first"]
    rows = analytics_warehouse.query(expand(sql, FROM, TO, VARIABLES))
    assert want and {(row[0], row[1]) for row in rows} == want
