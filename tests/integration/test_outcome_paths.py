"""Acceptance: the outcome table built by the stream path (worker -> outcomes topic -> sink),
rebuilt by `kontakt backfill` from the raw events in ClickHouse, and computed by
`kontakt sla evaluate` over the same events all agree, contact by contact, milestone by
milestone -- on a simulated day with breaches of every kind, pauses, abandons, duplicated and
out-of-order events."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.backfill import backfill
from services.analytics.scope import Scope
from services.sink.batch import BatchLimits
from services.sink.runner import Sink, SinkConfig
from streams.sla.policy import load_policy
from tests.fixtures.worker import WorkerStack
from tests.integration.sink_helpers import wait_until
from tests.integration.test_worker import replay_outcomes
from tests.integration.worker_day import DAY, simulated_day, write_combined_policy

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LATEST = (
    "SELECT contact_id, milestone, argMax(status, evaluated_at), "
    "argMax(started_at, evaluated_at), argMax(due_at, evaluated_at), "
    "argMax(stopped_at, evaluated_at) FROM outcomes GROUP BY contact_id, milestone"
)


def _ms(value: Any) -> int | None:
    from services.analytics.sql import epoch_ms

    return None if value is None else epoch_ms(value)


def table_outcomes(warehouse: ChdbWarehouse) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (cid, milestone): (status, _ms(start), _ms(due), _ms(stop))
        for cid, milestone, status, start, due, stop in warehouse.query(LATEST)
    }


def _diff(got: dict[Any, Any], want: dict[Any, Any]) -> list[Any]:
    keys = sorted(set(got) | set(want))
    return [(k, got.get(k), want.get(k)) for k in keys if got.get(k) != want.get(k)][:10]


def test_stream_backfill_and_sla_evaluate_agree(
    worker_stack: WorkerStack, tmp_path: Path, migrated_warehouse: ChdbWarehouse
) -> None:
    policy_file = write_combined_policy(tmp_path / "policy.toml")
    worker_stack.env["KONTAKT_SLA_POLICY"] = str(policy_file)
    now = int(time.time() * 1000)
    events = simulated_day(now - now % DAY - 3 * DAY, contacts=300)
    worker_stack.produce(events)
    worker_stack.start_worker("w")
    as_of = int(time.time() * 1000)
    expected = replay_outcomes(events, policy_file, as_of, tmp_path)
    assert {s for s, *_ in expected.values()} >= {"met", "breached", "cancelled", "open"}

    config = SinkConfig(
        worker_stack.bootstrap,
        [worker_stack.topic("contact-events"), worker_stack.topic("outcomes")],
        f"sink-{worker_stack.settings.worker_app_id}", BatchLimits(5_000, 0.3),
    )
    sink, stop = Sink(migrated_warehouse, config), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: table_outcomes(migrated_warehouse) == expected, 120,
                   "the stream path's outcomes in ClickHouse", interval_s=1.0)
    except AssertionError:
        pytest.fail(f"stream != evaluate: {_diff(table_outcomes(migrated_warehouse), expected)}"
                    f"\n{worker_stack.logs()}")
    finally:
        stop.set()
        thread.join(30)
    stream = table_outcomes(migrated_warehouse)
    raw_events = migrated_warehouse.query("SELECT count() FROM events FINAL")[0][0]
    assert raw_events == len({e.event_id for e in events})

    result = backfill(migrated_warehouse, load_policy(str(policy_file)), Scope(),
                      evaluated_at=int(time.time() * 1000), as_of=as_of)
    rebuilt = table_outcomes(migrated_warehouse)
    assert result.outcomes == len(expected) == len(rebuilt)
    assert rebuilt == expected, _diff(rebuilt, expected)
    assert rebuilt == stream
    # contacts: one row per contact, folded by the same core (duplicates ignored)
    contacts, folded, statuses = migrated_warehouse.query(
        "SELECT count(), sum(event_count), groupUniqArray(status) FROM contacts FINAL")[0]
    assert contacts == len({e.contact_id for e in events})
    assert folded == len({e.event_id for e in events})
    assert {"answered", "abandoned"} <= set(statuses)
    # the views fed from `outcomes` were cleared and refilled with it, not doubled
    daily = migrated_warehouse.query(
        "SELECT sum(n) FROM (SELECT length((maxMapMerge(met)).1) AS n FROM outcome_stats_daily "
        "GROUP BY tenant, channel, region, customer_category, milestone, local_day)")[0][0]
    assert daily == sum(1 for v in expected.values() if v[0] == "met")
