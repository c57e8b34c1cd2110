"""Cost of appeal linking and customer time (streams/sla/appeals.py, `kontakt appeals link`,
the appeal_figures view) on simulated traffic, next to a baseline measured in the same run:
folding every contact's state with streams.sla.state.build_state (what replay and backfill do
for every contact anyway).

Rows: contacts per CPU second of this process (the machine is shared; the load average is
printed), and the ratio to the baseline. The warehouse rows are wall time (chdb works in its
own threads).

Run: .venv/bin/python bench/appeals.py [DAYS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from schemas.codec import event_to_datum
from schemas.events import ContactEvent, parse_timestamp
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.scope import Scope
from services.appeals.linking import link_appeals
from services.migrate import migrate
from services.simulator.generate import generate
from services.simulator.model import SimConfig
from services.sink.rows import TABLE_COLUMNS, event_rows
from streams.sla.appeals import appeals, customer_time
from streams.sla.state import build_state

START = parse_timestamp("2026-10-01T00:00:00Z")
WINDOW = 7 * 86_400_000


T = TypeVar("T")


def _cpu(fn: Callable[[], T]) -> tuple[float, T]:
    began = time.process_time()
    result = fn()
    return time.process_time() - began, result


def main(days: float) -> None:
    events = list(generate(SimConfig(seed=1, start_ms=START, days=days)))
    per: dict[tuple[str, str], list[ContactEvent]] = defaultdict(list)
    for e in events:
        per[(e.tenant, e.contact_id)].append(e)
    groups = list(per.values())
    n = len(groups)
    base_s, _ = _cpu(lambda: [build_state(g) for g in groups])
    time_s, times = _cpu(lambda: [customer_time(g) for g in groups])
    link_s, found = _cpu(lambda: appeals(times, WINDOW))
    repeat = sum(a.contacts > 1 for a in found)
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = ChdbWarehouse(Path(tmp) / "w")
        try:
            migrate(warehouse)
            rows = [r for e in events for _, r in event_rows(event_to_datum(e))]
            warehouse.insert("events", TABLE_COLUMNS["events"], rows)
            wall = time.monotonic()
            link_appeals(warehouse, Scope(), window_ms=WINDOW, linked_at=START)
            link_wall = time.monotonic() - wall
            wall = time.monotonic()
            tenants = [t for (t,) in warehouse.query("SELECT DISTINCT tenant FROM events")]
            for tenant in tenants:
                warehouse.query(
                    "SELECT channel, count(), sum(wait_ms), countIf(first_contact_resolution) "
                    "FROM appeal_figures(tenant = {t:String}, start = '2026-09-01 00:00:00', "
                    "end = '2027-01-01 00:00:00') GROUP BY channel", {"t": tenant})
            view_wall = time.monotonic() - wall
        finally:
            warehouse.close()
    print(f"{days:g} simulated days: {len(events):,} events, {n:,} contacts, "
          f"{len(found):,} appeals ({repeat:,} with repeats); load {os.getloadavg()[0]:.1f}")
    print(f"{'step':<44}{'contacts/s':>14}{'x baseline':>12}")
    base_rate = n / base_s
    for name, seconds in (
        ("baseline: build_state per contact (CPU)", base_s),
        ("customer_time per contact (CPU)", time_s),
        ("link all contacts into appeals (CPU)", link_s),
        ("kontakt appeals link, chdb (wall)", link_wall),
        ("appeal_figures by channel, chdb (wall)", view_wall),
    ):
        rate = n / seconds if seconds else float("inf")
        print(f"{name:<44}{rate:>14,.0f}{rate / base_rate:>12.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
