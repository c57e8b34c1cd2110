"""Backfill and what-if judge stored history by the tenants' policy versions the warehouse keeps
(policy_versions, written by the sink), as the worker and replay do: on chdb, no broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.codec import event_to_datum
from schemas.events import Channel, ContactEvent, EventType, parse_timestamp
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.backfill import backfill
from services.analytics.policy_rules import stored_rules, stored_versions
from services.analytics.scope import Scope
from services.analytics.whatif import run_whatif
from services.migrate import migrate
from services.sink.rows import TABLE_COLUMNS, event_rows, policy_version_rows
from streams.sla.policy import load_policy
from streams.sla.replay import evaluate_all
from streams.sla.state import build_state
from streams.sla.versions import parse_version, published_record

T0 = parse_timestamp("2026-03-10T09:00:00Z")
HOUR = 3_600_000
RAO = load_policy("rao-ues-2007")  # the platform default: phone answered within 40 s
STRICT = {"name": "phone-30s", "milestones": [
    {"id": "phone.answer", "channels": ["phone"], "start": "queued", "stop": ["answered"],
     "abandon_rule": True, "target": "30s"}]}


def _call(tenant: str, n: int, wait_s: int) -> list[ContactEvent]:
    start, cid = T0 + n * HOUR, f"{tenant}-{n}"
    return [ContactEvent(f"{cid}-q", cid, tenant, "tver", Channel.PHONE, EventType.QUEUED, start),
            ContactEvent(f"{cid}-a", cid, tenant, "tver", Channel.PHONE, EventType.ANSWERED,
                         start + wait_s * 1000)]


# every call waits 35 s: met at 40 s, breached at 30 s. grid-a's own 30 s target takes effect
# between its second and third call; heat-b has no versions (the default judges it)
EVENTS = [e for n in range(4) for e in _call("grid-a", n, 35)] + _call("heat-b", 0, 35)
VERSION = parse_version({"effective_from": T0 + 2 * HOUR - 1, "default": STRICT,
                         "comment": "our own 30 s"}, "grid-a", 1, "v1", "key-1", T0)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[ChdbWarehouse]:
    with ChdbWarehouse(tmp_path / "warehouse") as wh:
        migrate(wh)
        wh.insert("events", TABLE_COLUMNS["events"],
                  [row for e in EVENTS for _, row in event_rows(event_to_datum(e))])
        record = published_record([VERSION])
        for _ in range(2):  # every later record re-carries the version: the copies collapse
            rows = [row for _, row in policy_version_rows(record)]
            wh.insert("policy_versions", TABLE_COLUMNS["policy_versions"], rows)
        yield wh


def test_the_stored_versions_are_the_published_ones(warehouse: ChdbWarehouse) -> None:
    assert stored_versions(warehouse) == [VERSION]


def test_backfill_writes_what_the_versions_say_and_replay_agrees(
    warehouse: ChdbWarehouse,
) -> None:
    rules = stored_rules(warehouse, RAO)
    result = backfill(warehouse, rules, Scope(), evaluated_at=T0 + 10 * HOUR)
    assert result.contacts == 5
    got = {(cid, m): (status, int(v)) for cid, m, status, v in warehouse.query(
        "SELECT contact_id, milestone, status, policy_version FROM outcomes FINAL")}
    assert got == {
        ("grid-a-0", "phone.answer"): ("met", 0), ("grid-a-1", "phone.answer"): ("met", 0),
        ("grid-a-2", "phone.answer"): ("breached", 1),
        ("grid-a-3", "phone.answer"): ("breached", 1),
        ("heat-b-0", "phone.answer"): ("met", 0),
    }
    states = {}
    for e in EVENTS:
        states.setdefault(e.contact_id, []).append(e)
    replayed = evaluate_all({c: build_state(es) for c, es in states.items()}, rules,
                            result.as_of or 0)
    assert {(o.contact_id, o.milestone): (o.status.value, o.policy_version)
            for o in replayed} == got
    # without the versions (the old behaviour) every call is met at 40 s
    backfill(warehouse, RAO, Scope(), evaluated_at=T0 + 11 * HOUR)
    statuses = {s for (s,) in warehouse.query("SELECT status FROM outcomes FINAL")}
    assert statuses == {"met"}


def test_whatif_compares_a_candidate_with_what_the_versions_judged(
    warehouse: ChdbWarehouse,
) -> None:
    done = run_whatif(warehouse, stored_rules(warehouse, RAO), RAO, Scope("grid-a"))
    [row] = [r for r in done.rows if r["milestone"] == "phone.answer"]
    assert (row["actual_met"], row["actual_breached"]) == (2, 2)
    assert (row["whatif_met"], row["whatif_breached"]) == (4, 0)
    assert row["actual_target_s"] in (30.0, 40.0) and row["whatif_target_s"] == 40.0
