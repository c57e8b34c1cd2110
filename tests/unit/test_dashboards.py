"""The Prometheus dashboard (deploy/grafana/dashboards) and alerting rules
(deploy/prometheus/alerts.yml) against the metrics the processes export
(services/metrics_names.py): every PromQL expression parses (promql-parser, a Rust port of
Prometheus' own parser: unknown functions and unbalanced brackets are errors), selects only
known series, filters and groups only by their labels, and its legend names only labels the
expression keeps. The ClickHouse dashboard's SQL runs in tests/integration/test_dashboards_sql.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from services.metrics_names import METRICS, series_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
#: Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"instance", "job"})
#: Series Prometheus itself makes for every target.
SYNTHETIC = {"up": TARGET_LABELS}
#: Grafana's built-in interval variables; any duration parses in their place.
GRAFANA_DURATIONS = re.compile(r"\$__(rate_interval|interval|range)\b")


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def prometheus_targets() -> list[tuple[str, dict[str, Any]]]:
    """(panel title, target) of every Prometheus query in the shipped dashboards."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in _panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == "prometheus":
                    found.append((f"{path.stem}: {panel['title']}", target))
    return found


def _labels_of(series: str) -> frozenset[str]:
    if series in SYNTHETIC:
        return SYNTHETIC[series]
    for metric in METRICS:
        if series == metric.name or (
            metric.kind == "histogram" and series.startswith(metric.name + "_")
        ):
            extra = {"le"} if series.endswith("_bucket") else set()
            return frozenset(metric.labels) | extra | TARGET_LABELS
    raise AssertionError(f"{series} is not in services/metrics_names.py")


def check_promql(expr: str) -> frozenset[str]:
    """Parse one expression and check it against the metric list; return the labels its
    result keeps (for the legend): the outermost aggregation's `by` labels, else all."""
    tree = promql_parser.parse(GRAFANA_DURATIONS.sub("5m", expr))
    known = series_names() | SYNTHETIC.keys()
    selected: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name in known, f"unknown series {node.name!r} in {expr}"
            selected.append(node.name)
            for matcher in node.matchers.matchers:
                assert matcher.name in _labels_of(node.name), (
                    f"{node.name} has no label {matcher.name!r}"
                )

    promql_parser.walk(tree, pre_visit=visit)
    assert selected, f"{expr} selects no series"
    available = frozenset().union(*(_labels_of(s) for s in selected))

    def check_grouping(node: Any) -> None:
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            for label in node.modifier.labels:
                assert label in available, f"{expr}: grouping by unknown label {label!r}"

    promql_parser.walk(tree, pre_visit=check_grouping)
    node = tree
    if isinstance(node, promql_parser.BinaryExpr) and isinstance(
        node.rhs, promql_parser.NumberLiteral
    ):  # an alert's threshold: `expr > 10` keeps what expr keeps
        node = node.lhs
    while isinstance(node, promql_parser.Call | promql_parser.ParenExpr):
        # histogram_quantile(q, sum by (le, x) (...)) keeps x: look through calls
        node = node.args[-1] if isinstance(node, promql_parser.Call) else node.expr
    if isinstance(node, promql_parser.AggregateExpr):
        kept = frozenset(node.modifier.labels) if node.modifier is not None else frozenset()
        return kept - {"le"}
    return available


def test_the_dashboards_query_every_metric_the_processes_export() -> None:
    """A metric nobody graphs is either dead or missing from a panel."""
    used: set[str] = set()
    for _, target in prometheus_targets():
        for name in series_names():
            if re.search(rf"\b{name}\b", target["expr"]):
                used.add(name)
    missing = {m.name for m in METRICS} - {
        m.name for m in METRICS if any(u == m.name or u.startswith(m.name + "_") for u in used)
    }
    assert not missing, f"no panel shows {sorted(missing)}"


@pytest.mark.parametrize(
    "title,target", prometheus_targets(), ids=[t for t, _ in prometheus_targets()]
)
def test_promql_parses_and_names_only_exported_metrics(title: str, target: dict[str, Any]) -> None:
    kept = check_promql(target["expr"])
    legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
    assert legend <= kept, f"{title}: legend {sorted(legend - kept)} not kept by the query"


@pytest.mark.parametrize(
    "expr,error",
    [
        ("sum(rate(kontakt_worker_events_processed_total[5m])", "parenthesis"),
        ("rates(kontakt_worker_events_processed_total[5m])", "unknown function"),
        ("sum(rate(kontakt_worker_events_total[5m]))", "unknown series"),
        ("max by (partition) (kontakt_worker_open_clocks)", "unknown label"),
        ('kontakt_ingest_requests_total{tenant="x"}', "no label"),
    ],
)
def test_the_check_refuses_broken_queries(expr: str, error: str) -> None:
    with pytest.raises((AssertionError, ValueError, SyntaxError)) as caught:
        check_promql(expr)
    assert error in str(caught.value)


def test_legend_check_sees_the_grouping_through_histogram_quantile() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) "
        "(rate(kontakt_ingest_request_duration_seconds_bucket[$__rate_interval])))"
    )
    assert check_promql(expr) == {"route"}


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"]
            for rule in group["rules"]]  # fmt: skip


@pytest.mark.parametrize("rule", alert_rules(), ids=[r["alert"] for r in alert_rules()])
def test_alert_rules_parse_and_name_only_exported_metrics(rule: dict[str, Any]) -> None:
    kept = check_promql(rule["expr"])
    text = " ".join(rule.get("annotations", {}).values())
    used = set(re.findall(r"\$labels\.(\w+)", text))
    assert used <= kept, f"{rule['alert']}: {sorted(used - kept)} not kept by the expression"
    assert rule["labels"]["severity"] in {"critical", "high", "warning"}


def test_every_runbook_entry_has_an_alert() -> None:
    runbooks = {r.get("annotations", {}).get("runbook") for r in alert_rules()}
    doc = (ROOT / "docs" / "operations.md").read_text()
    for entry in ("Broker down", "Worker behind", "Warehouse behind"):
        assert f"### {entry}" in doc
        assert f'docs/operations.md, "{entry}"' in runbooks, f"no alert points at {entry}"


@pytest.mark.parametrize("path", sorted(DASHBOARDS.glob("*.json")), ids=lambda p: p.stem)
def test_dashboard_layout_is_sound(path: Path) -> None:
    """Unique ids, panels inside the 24-column grid and not on top of each other, and each
    panel says what it shows and queries something."""
    board = json.loads(path.read_text())
    panels = _panels(board)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel.get("description"), f"{path.name}: {panel}"
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS.glob("*.json")]
    assert len(uids) == len(set(uids)) == 2
