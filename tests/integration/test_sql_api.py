"""POST /v1/sql on a real chdb warehouse with three tenants' rows in every table (sql_seed).

Hostile queries that try to reach other tenants' rows are each refused with a 4xx or return
only the caller's rows; a tenant's count of every table equals an operator's count with an
explicit tenant filter; limits may be lowered, never raised; every output format parses.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.adhoc import load_catalog
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.migrate import migrate
from services.settings import load_settings
from tests.integration import sql_seed as seed

OTHERS = ("mrsk-b", "brien")  # what a key of tenant A must never see


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("sql_api")
    warehouse = ChdbWarehouse(tmp_path / "warehouse")
    try:
        migrate(warehouse)
        seed.seed(warehouse)
        settings = load_settings(data_dir=tmp_path, sink_in_api=False, board_feed=False,
                                 sql_max_result_rows=1000, sql_max_execution_s=20)
        store = KeyStore(key_store_path(tmp_path))
        now = int(time.time() * 1000)

        def key(tenant: str, *scopes: Scope) -> dict[str, str]:
            kind = None if tenant in store.tenants() else TenantType.GRID
            return {"X-API-Key": store.create(tenant, scopes, tenant_type=kind, now_ms=now)[1]}

        keys = {"a": key(seed.A, Scope.READ), "b": key(seed.B, Scope.READ),
                "q": key(seed.Q, Scope.READ), "ops": key("operator", Scope.READ, Scope.SQL_ALL),
                "admin_a": key(seed.A, Scope.ADMIN), "ingest": key(seed.A, Scope.INGEST)}
        app = create_app(settings)
        app.state.warehouse = warehouse
        with TestClient(app) as client:
            yield {"client": client, "catalog": load_catalog(warehouse), **keys}
    finally:
        warehouse.close()


def sql(api: dict[str, Any], who: str, query: str, **extra: Any) -> Any:
    return api["client"].post("/v1/sql", json={"query": query, **extra}, headers=api[who])


def rows(api: dict[str, Any], who: str, query: str) -> list[list[Any]]:
    r = sql(api, who, query)
    assert r.status_code == 200, r.text
    return r.json()["rows"]


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- the property: a tenant's count is the operator's count with an explicit filter ----------


def test_every_tenant_table_counts_only_the_keys_tenant(api: dict[str, Any]) -> None:
    tables = sorted(api["catalog"].tenant_tables)
    assert {"events", "outcomes", "contacts", "alerts", "appeal_links", "remediation",
            "metrics", "outcome_stats_daily", "sl_daily"} <= set(tables)
    for table in tables:
        for who, tenant in (("a", seed.A), ("b", seed.B), ("q", seed.Q)):
            (mine,), = rows(api, who, f"SELECT count() FROM {table}")
            (ops,), = rows(api, "ops",
                           f"SELECT count() FROM {table} WHERE tenant = {literal(tenant)}")
            assert mine == ops, (table, tenant)
    (everything,), = rows(api, "ops", "SELECT count() FROM events")
    assert everything == sum(seed.COUNTS.values())
    (mine,), = rows(api, "a", "SELECT count() FROM events")
    assert mine == seed.COUNTS[seed.A]


TENANT_TABLES = ("events", "outcomes", "contacts", "alerts", "appeal_links", "remediation",
                 "outcome_stats_hourly", "outcome_stats_daily_mv")
CONDITIONS = ("1", "tenant != ''", "tenant = 'mrsk-b'", "tenant IN ('mrsk-a', 'mrsk-b')",
              "NOT (tenant = 'mrsk-a')", "tenant LIKE '%'")
WRAPS = ("{q}", "SELECT * FROM ({q})", "WITH x AS ({q}) SELECT * FROM x",
         "SELECT * FROM ({q}) UNION ALL SELECT * FROM ({q})",
         "SELECT l.tenant FROM ({q}) AS l JOIN ({q}) AS r ON l.tenant = r.tenant")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(table=st.sampled_from(TENANT_TABLES), condition=st.sampled_from(CONDITIONS),
       wrap=st.sampled_from(WRAPS), who=st.sampled_from([("a", seed.A), ("b", seed.B),
                                                         ("q", seed.Q)]))
def test_any_query_shape_counts_what_an_explicit_filter_counts(
        api: dict[str, Any], table: str, condition: str, wrap: str, who: tuple[str, str]) -> None:
    """The property over query shapes: a tenant's count through subqueries, CTEs, UNIONs and
    JOINs equals the operator's count of the same query with the tenant filter written out."""
    key, tenant = who
    mine = wrap.replace("{q}", f"SELECT tenant FROM {table} WHERE {condition}")
    explicit = wrap.replace("{q}", f"SELECT tenant FROM {table} WHERE tenant = "
                                   f"{literal(tenant)} AND ({condition})")
    assert (rows(api, key, f"SELECT count() FROM ({mine})")
            == rows(api, "ops", f"SELECT count() FROM ({explicit})")), (table, condition, wrap)


def test_an_admin_key_of_a_tenant_is_not_operator_wide(api: dict[str, Any]) -> None:
    assert rows(api, "admin_a", "SELECT DISTINCT tenant FROM events") == [[seed.A]]


# --- hostile SQL ---------------------------------------------------------------------------

VIEW = ("contact_customer_time(tenant = 'mrsk-b', start = '2026-01-01 00:00:00', "
        "end = '2027-01-01 00:00:00')")
HOSTILE = [
    "SELECT DISTINCT tenant FROM events",
    "SELECT tenant, contact_id FROM events WHERE tenant = 'mrsk-b'",
    "SELECT tenant FROM events WHERE 1 OR tenant != ''",
    "SELECT tenant FROM events WHERE tenant IN ('mrsk-b', 'o''brien\\\\x') OR 1",
    "SELECT * FROM (SELECT * FROM events) WHERE tenant = 'mrsk-b'",
    "SELECT b.tenant, b.contact_id FROM events AS a JOIN outcomes AS b ON a.region = b.region",
    "SELECT a.tenant FROM events AS a CROSS JOIN events AS b",
    "SELECT tenant FROM events UNION ALL SELECT tenant FROM outcomes UNION ALL "
    "SELECT tenant FROM alerts",
    "SELECT tenant FROM events UNION DISTINCT SELECT tenant FROM remediation",
    "SELECT tenant FROM events INTERSECT SELECT tenant FROM contacts",
    "WITH x AS (SELECT tenant, contact_id FROM appeal_links) SELECT * FROM x",
    "WITH (SELECT groupArray(contact_id) FROM events) AS ids SELECT ids",
    "SELECT (SELECT groupArray(tenant) FROM contacts)",
    "SELECT count() FROM events WHERE contact_id IN (SELECT contact_id FROM events "
    "WHERE tenant = 'mrsk-b')",
    "SELECT tenant FROM events FINAL",
    "(SELECT tenant FROM events) UNION ALL (SELECT tenant FROM alerts)",
    "SELECT tenant FROM events UNION ALL (SELECT tenant FROM outcomes)",
    "SELECT tenant FROM events PASTE JOIN outcomes",
    "SELECT groupArray(tenant) FROM events GROUP BY GROUPING SETS ((tenant), ())",
    "SELECT * FROM loop(events)",
    "SELECT * FROM generateRandom('tenant String')",
    "SELECT * FROM clusterAllReplicas('default', currentDatabase(), 'events')",
    "SELECT tenant FROM default.events",
    "SELECT tenant, x FROM events ARRAY JOIN [1, 2] AS x",
    f"SELECT * FROM {VIEW}",
    "SELECT * FROM appeal_figures(tenant = 'mrsk-b', start = '2026-01-01 00:00:00', "
    "end = '2027-01-01 00:00:00')",
    "SELECT tenant FROM outcome_stats_daily_mv",
    "SELECT DISTINCT tenant FROM outcome_stats_hourly",
    # the tenant filter runs before the query's own conditions: no error oracle on B's rows
    "SELECT count() FROM events WHERE throwIf(contact_id = 'mrsk-b-c0', 'found')",
    "SELECT count() FROM events WHERE toUInt64(contact_id) = 1",
    "SELECT count() FROM events PREWHERE throwIf(contact_id = 'mrsk-b-c0', 'found')",
    # dictionaries, table functions, other databases
    "SELECT dictGet('tenants', 'name', 1)",
    "SELECT * FROM dictionary('tenants')",
    "SELECT tenant FROM merge(currentDatabase(), '^events$')",
    "SELECT tenant FROM merge('^ev')",
    "SELECT tenant FROM cluster('default', currentDatabase(), 'events')",
    "SELECT tenant FROM remote('127.0.0.1', currentDatabase(), 'events')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT file('/etc/passwd')",
    "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')",
    "SELECT * FROM s3('http://127.0.0.1:1/b/x.csv', 'CSV', 'a String')",
    "SELECT * FROM input('a String')",
    "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 'a String')",
    "SELECT tenant FROM view(SELECT tenant FROM events)",
    "SELECT * FROM system.tables",
    "SELECT query FROM system.query_log",
    "SELECT name FROM system.databases",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM INFORMATION_SCHEMA.COLUMNS",
    "SELECT * FROM otherdb.events",
    "SELECT count() FROM events WHERE contact_id IN appeal_links",
    "SELECT joinGet('j', 'v', 1)",
    "SELECT * FROM kontakt_schema_migrations",
    # SETTINGS overrides, SET, multiple statements, comments hiding keywords
    "SELECT tenant FROM events SETTINGS additional_table_filters = {}",
    "SELECT tenant FROM events SETTINGS readonly = 0",
    "SELECT * FROM (SELECT tenant FROM events SETTINGS additional_table_filters = {})",
    "SET additional_table_filters = {}",
    "SELECT 1; SELECT tenant FROM events",
    "SELECT 1; DROP TABLE events",
    "SELECT tenant FROM events /* SETTINGS additional_table_filters = {} */",
    "SELECT tenant FROM events -- ; SELECT tenant FROM outcomes\n",
    "SELECT tenant FROM events /*! SETTINGS additional_table_filters = {} */",
    "SELECT tenant FROM events FORMAT JSON",
    "SELECT tenant FROM events INTO OUTFILE '/tmp/kontakt-leak.csv'",
    # writes and everything else that is not a SELECT
    "INSERT INTO events (tenant, event_id) VALUES ('mrsk-a', 'x')",
    "INSERT INTO FUNCTION file('/tmp/kontakt-leak.csv') SELECT * FROM events",
    "ALTER TABLE events DELETE WHERE 1",
    "ALTER TABLE events UPDATE tenant = 'mrsk-a' WHERE 1",
    "DROP TABLE events",
    "TRUNCATE TABLE events",
    "CREATE TABLE leak ENGINE = Memory AS SELECT * FROM events",
    "CREATE VIEW leak AS SELECT * FROM events",
    "OPTIMIZE TABLE events FINAL",
    "RENAME TABLE events TO leak",
    "EXPLAIN SELECT * FROM events",
    "SHOW TABLES",
    "DESCRIBE TABLE events",
    "KILL QUERY WHERE 1",
    "SYSTEM STOP MERGES",
    "GRANT ALL ON *.* TO default",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_sql_is_refused_or_sees_only_the_own_tenant(api: dict[str, Any],
                                                            query: str) -> None:
    r = sql(api, "a", query)
    assert r.status_code != 500, r.text
    if r.status_code != 200:
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["detail"], r.text
    for leak in OTHERS:
        assert leak not in r.text, (query, r.text)
    (count,), = rows(api, "ops", "SELECT count() FROM events")
    assert count == sum(seed.COUNTS.values())  # nothing was written or dropped


def test_what_the_hostile_queries_return(api: dict[str, Any]) -> None:
    """The ones that run return A's rows exactly, and the refusals say why."""
    assert rows(api, "a", "SELECT DISTINCT tenant FROM events UNION DISTINCT "
                "SELECT tenant FROM outcomes") == [[seed.A]]
    assert rows(api, "a", "SELECT count() FROM events AS a CROSS JOIN events AS b") == [[9]]
    assert rows(api, "a", f"SELECT count() FROM {VIEW}") == [[0]]
    assert rows(api, "ops", f"SELECT count() FROM {VIEW}") == [[seed.COUNTS[seed.B]]]
    assert rows(api, "a", "SELECT count() FROM events WHERE "
                "throwIf(contact_id = 'mrsk-b-c0', 'found') = 0") == [[seed.COUNTS[seed.A]]]
    r = sql(api, "a", "SELECT count() FROM events WHERE toUInt64(contact_id) = 1")
    assert r.status_code == 400 and f"'{seed.A}-c" in r.text, r.text  # A's value, not B's
    assert rows(api, "q", "SELECT DISTINCT tenant FROM events") == [[seed.Q]]
    cases = {
        "SELECT * FROM merge('^ev')": (403, "table function merge()"),
        "SELECT * FROM system.tables": (403, "own database"),
        "SELECT 1; SELECT 2": (400, "Multi-statements"),
        "SELECT 1 SETTINGS readonly = 0": (400, "SETTINGS are not allowed"),
        "DROP TABLE events": (400, "only SELECT"),
        "SELECT * FROM kontakt_schema_migrations": (403, "no tenant column"),
        "SELECT * FROM events FORMAT JSON": (400, "FORMAT"),
        "SELECT * FROM events PREWHERE 1": (400, "PREWHERE"),
        "SELECT dictGet('d', 'x', 1)": (403, "dictGet"),
    }
    for query, (code, words) in cases.items():
        r = sql(api, "a", query)
        assert (r.status_code, words in r.json()["detail"]) == (code, True), (query, r.text)


def test_a_failed_query_leaves_nothing_for_the_next(api: dict[str, Any]) -> None:
    """chdb keeps a failed query's partial output for the next query on the connection; the
    adapter drains it, so no caller (and no other tenant) ever receives it."""
    for fmt in ("json", "csv", "arrow"):
        assert sql(api, "b", "SELECT contact_id, toUInt64(contact_id) FROM events",
                   format=fmt).status_code == 400
        r = sql(api, "a", "SELECT 1 AS one")
        assert r.status_code == 200 and r.json()["rows"] == [[1]], r.text


def test_an_operator_key_reads_untenanted_tables(api: dict[str, Any]) -> None:
    assert rows(api, "ops", "SELECT count() > 0 FROM kontakt_schema_migrations") == [[1]]
    assert sql(api, "ops", "SELECT * FROM system.tables").status_code == 403


DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC_QUERIES = [block for name in ("analytics.md", "appeals.md")
               for block in re.findall(r"```sql\n(.*?)```", (DOCS / name).read_text(), re.S)]


def test_the_documented_queries_run_for_a_tenant_key(api: dict[str, Any]) -> None:
    """No false refusals: every analyst query of docs/analytics.md and docs/appeals.md runs."""
    assert len(DOC_QUERIES) >= 20
    for query in DOC_QUERIES:
        r = sql(api, "a", query)
        assert r.status_code == 200, (query.splitlines()[0], r.text)


# --- limits, formats, keys -----------------------------------------------------------------


def test_limits_may_be_lowered_never_raised(api: dict[str, Any]) -> None:
    r = sql(api, "a", "SELECT number FROM numbers(50)", max_result_rows=10)
    assert r.status_code == 422 and "max_result_rows" in r.json()["detail"], r.text
    assert len(rows(api, "a", "SELECT number FROM numbers(1000)")) == 1000
    r = sql(api, "a", "SELECT number FROM numbers(1001)")
    assert r.status_code == 422, r.text
    r = sql(api, "a", "SELECT number FROM numbers(1001)", max_result_rows=5000,
            max_execution_s=99, max_memory_bytes=1 << 40)  # asking for more gets the setting
    assert r.status_code == 422 and "max_result_rows" in r.text, r.text
    assert sql(api, "a", "SELECT 1", max_result_rows=5000).headers["X-Kontakt-Limits"] == (
        f"max_execution_s=20.0, max_result_rows=1000, max_memory_bytes={1 << 30}")
    for field, value in (("max_result_rows", 0), ("max_execution_s", 0.001),
                         ("max_memory_bytes", 1000)):  # 0 would mean unlimited to ClickHouse
        assert sql(api, "a", "SELECT 1", **{field: value}).status_code == 422
    r = sql(api, "a", "SELECT sum(cityHash64(number)) FROM numbers(100000000000)",
            max_execution_s=0.5)
    assert r.status_code == 422 and "max_execution_s" in r.text, r.text
    r = sql(api, "a", "SELECT groupArray(number) FROM numbers(100000000)",
            max_memory_bytes=32 << 20)
    assert r.status_code == 422 and "max_memory_bytes" in r.text, r.text
    assert sql(api, "a", "SELECT sleep(1)").status_code == 403


def test_bad_requests_are_4xx(api: dict[str, Any]) -> None:
    client = api["client"]
    assert client.post("/v1/sql", json={"query": "SELECT 1"}).status_code == 401
    assert sql(api, "ingest", "SELECT 1").status_code == 403
    assert sql(api, "a", "").status_code == 422
    assert sql(api, "a", "   ").status_code == 400
    assert sql(api, "a", "SELECT 1", format="xml").status_code == 422
    assert sql(api, "a", "SELECT 1", max_result_rows=0).status_code == 422
    assert sql(api, "a", "SELECT 1", unknown=1).status_code == 422
    assert sql(api, "a", "SELEC 1 FROM").status_code == 400
    assert sql(api, "a", "SELECT nope FROM events").status_code == 400
    assert sql(api, "a", "SELECT 'x" * 1000).status_code == 400


def test_formats(api: dict[str, Any]) -> None:
    query = "SELECT contact_id, toUInt64(42) AS n FROM events ORDER BY contact_id"
    r = sql(api, "a", query)
    doc = r.json()
    assert doc["columns"] == [{"name": "contact_id", "type": "String"},
                              {"name": "n", "type": "UInt64"}]
    assert doc["rows"][0] == [f"{seed.A}-c0", 42] and doc["row_count"] == 3
    assert doc["tenant"] == seed.A and r.headers["X-Kontakt-Tenant"] == seed.A
    r = sql(api, "a", query, format="csv")
    assert r.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(r.text)))
    assert parsed[0] == ["contact_id", "n"] and parsed[1] == [f"{seed.A}-c0", "42"]
    r = sql(api, "a", query, format="tsv")
    assert r.text.splitlines()[:2] == ["contact_id\tn", f"{seed.A}-c0\t42"]
    r = sql(api, "a", query, format="arrow")
    table = pa.ipc.open_stream(r.content).read_all()
    assert table.column_names == ["contact_id", "n"] and table.num_rows == 3
    assert table.column("n").to_pylist() == [42, 42, 42]
    assert sql(api, "ops", query).json()["tenant"] is None


# --- jobs ----------------------------------------------------------------------------------


def test_jobs_need_admin_and_keep_a_tenant_to_itself(api: dict[str, Any]) -> None:
    client = api["client"]
    r = client.post("/v1/jobs/appeals-link", json={"tenant": seed.A}, headers=api["admin_a"])
    assert r.status_code == 200, r.text
    assert r.json()["contacts"] == seed.COUNTS[seed.A]
    assert client.post("/v1/jobs/appeals-link", json={},
                       headers=api["admin_a"]).status_code == 403
    assert client.post("/v1/jobs/appeals-link", json={"tenant": seed.A},
                       headers=api["a"]).status_code == 403
    r = client.post("/v1/jobs/backfill", json={"tenant": seed.A, "from": "nonsense"},
                    headers=api["admin_a"])
    assert r.status_code == 422, r.text
    r = client.post("/v1/jobs/backfill", json={"tenant": seed.A, "policy": "/etc/passwd"},
                    headers=api["admin_a"])
    assert r.status_code == 422, r.text
