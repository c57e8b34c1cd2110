"""`kontakt sql` with the platform down: it opens the warehouse itself, through the same
validator and limits as POST /v1/sql (the platform-up path: test_sql_platform.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa


def kontakt(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "KONTAKT_DATA_DIR": str(data_dir)}
    env.pop("KONTAKT_CLICKHOUSE_URL", None)
    return subprocess.run([sys.executable, "-m", "services.cli.main", *args], env=env,
                          capture_output=True, timeout=120, check=False, input=stdin)


def test_kontakt_sql_with_the_platform_down(tmp_path: Path) -> None:
    data = tmp_path / "kontakt"
    assert kontakt(data, "migrate").returncode == 0
    done = kontakt(data, "sql", "SELECT count() AS n FROM kontakt_schema_migrations",
                   "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["columns"] == [{"name": "n", "type": "UInt64"}] and doc["rows"][0][0] >= 12
    table = kontakt(data, "sql", "-", stdin=b"SELECT 1 AS one, 'x' AS s")
    assert table.stdout.decode().splitlines() == ["one  s", "---  -", "1    x"], table
    arrow = kontakt(data, "sql", "SELECT number FROM numbers(5)", "--format", "arrow")
    assert pa.ipc.open_stream(arrow.stdout).read_all().num_rows == 5
    for query, words in (("DROP TABLE events", "only SELECT"),
                         ("SELECT * FROM system.tables", "own database"),
                         ("SELECT 1; SELECT 2", "Multi-statements")):
        refused = kontakt(data, "sql", query)
        assert refused.returncode == 2 and words in refused.stderr.decode(), refused
        assert b"Traceback" not in refused.stderr
    too_many = kontakt(data, "sql", "SELECT number FROM numbers(20)", "--max-rows", "5")
    assert too_many.returncode == 2 and b"max_result_rows" in too_many.stderr, too_many
    raised = kontakt(data, "sql", "SELECT number FROM numbers(100001)", "--max-rows", "10000000")
    assert raised.returncode == 2 and b"max rows: 100.00 thousand" in raised.stderr, raised
