"""The policy tables on a real engine (chdb): what the sink writes for PolicyVersionPublished
collapses to one row per (tenant, version, scope) however often the compacted topic re-carries
it, policy_targets answers "which target judged this clock" by a join with outcomes, and
outcomes written before migration 013 read as judged by the platform default."""

from __future__ import annotations

import shutil
from pathlib import Path

from schemas.codec import encode
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.migrate import MIGRATIONS_DIR, migrate
from services.sink.rows import TABLE_COLUMNS, record_rows
from tests.unit.avro_samples import policy_histories
from tests.unit.test_sink_batch import outcome


def _store(warehouse: ChdbWarehouse, *records: bytes) -> None:
    """Each record its own insert, as separate sink batches would be (one block would be
    collapsed at insert already and hide a reader that forgot FINAL)."""
    for value in records:
        by_table: dict[str, list[tuple[object, ...]]] = {}
        for table, row in record_rows(value):
            by_table.setdefault(table, []).append(row)
        for table, rows in by_table.items():
            warehouse.insert(table, TABLE_COLUMNS[table], rows)


def _published() -> list[bytes]:
    first, second = policy_histories()
    return [encode("PolicyVersionPublished", d) for d in (first, second, second)]


def test_redelivered_versions_collapse_to_one_row_per_scope(
    migrated_warehouse: ChdbWarehouse,
) -> None:
    wh = migrated_warehouse
    _store(wh, *_published())
    assert wh.query("SELECT count() FROM policy_versions")[0][0] == 1 + 5 + 5  # as delivered
    assert wh.query(
        "SELECT policy_version, scope, region, queue, policy FROM policy_versions FINAL "
        "WHERE tenant = 'grid-a' ORDER BY policy_version, scope") == [
        (1, "default", None, None, "minenergo-186"),
        (2, "default", None, None, "rao-ues-2007"),
        (2, "queue=vip", None, "vip", "vip-fast"),
        (2, "region=77", "77", None, "minenergo-186"),
        (2, "region=77,queue=vip", "77", "vip", "rao-ues-2007"),
    ]
    per_scope = wh.query(
        "SELECT scope, count(), countDistinct(milestone) FROM policy_targets "
        "WHERE tenant = 'grid-a' AND policy_version = 2 GROUP BY scope ORDER BY scope")
    assert all(n == distinct > 0 for _, n, distinct in per_scope), per_scope


def test_the_target_that_judged_a_clock_is_a_join(migrated_warehouse: ChdbWarehouse) -> None:
    wh = migrated_warehouse
    _store(wh, *_published())
    judged = {"tenant": "grid-a", "region": "77"}
    _store(
        wh,
        encode("MilestoneOutcomeEvaluated", outcome(
            **judged, contact_id="vip-call", policy_version=2, policy="vip-fast",
            target_ms=20_000)),
        encode("MilestoneOutcomeEvaluated", outcome(
            **judged, contact_id="old-call", policy_version=1, policy="minenergo-186",
            milestone="office.wait", target_ms=1_800_000)),
        encode("MilestoneOutcomeEvaluated", {  # a v1 record: the platform default judged it
            k: v for k, v in outcome(**judged, contact_id="v1-call").items()
            if k not in ("policy_version", "policy")}, version=1),
    )
    rows = wh.query(
        "SELECT o.contact_id, o.policy_version, o.policy, t.scope, t.target_ms, o.target_ms "
        "FROM outcomes AS o FINAL LEFT JOIN policy_targets AS t "
        "ON t.tenant = o.tenant AND t.policy_version = o.policy_version "
        "AND t.policy = o.policy AND t.milestone = o.milestone "
        "WHERE o.tenant = 'grid-a' ORDER BY o.contact_id")
    assert rows == [
        ("old-call", 1, "minenergo-186", "default", 1_800_000, 1_800_000),
        ("v1-call", 0, "", "", 0, 40_000),  # no published version: the join's defaults
        ("vip-call", 2, "vip-fast", "queue=vip", 20_000, 20_000),
    ]


def test_outcomes_written_before_013_read_as_the_platform_default(
    chdb_warehouse: ChdbWarehouse, tmp_path: Path,
) -> None:
    before = tmp_path / "before_013"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:3]) < 13:
            shutil.copy(path, before / path.name)
    wh = chdb_warehouse
    migrate(wh, directory=before)
    old_columns = [c for c in TABLE_COLUMNS["outcomes"] if not c.startswith("policy")]
    old = outcome(contact_id="before")
    wh.insert("outcomes", old_columns, [tuple(old[c] for c in old_columns)])
    applied = migrate(wh)
    assert [m.name for m in applied] == ["013_outcome_policy_version", "014_policy_versions"]
    _store(wh, encode("MilestoneOutcomeEvaluated", outcome(contact_id="after")))
    assert wh.query("SELECT contact_id, policy_version, policy FROM outcomes FINAL "
                    "ORDER BY contact_id") == [("after", 3, "moscow-strict"), ("before", 0, "")]
