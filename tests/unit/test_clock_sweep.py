"""The clock sweep really moves the clock, and the platform gives chdb no clock of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.clock_sweep import INSTANTS, faketime_env

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import subprocess, threading, time
time.sleep(0.05)                               # libfaketime's EINVAL case, worked around
threading.Event().wait(0.05)                   # timed waits on the real monotonic clock
subprocess.run(["true"], check=True, timeout=5)
print(time.time())
"""


def test_every_process_of_a_swept_run_sees_the_instant_and_can_wait() -> None:
    target = INSTANTS["night-moscow"]
    env = {**os.environ, **faketime_env(target)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert abs(float(out) - datetime.fromisoformat(target).timestamp()) < 60


def test_each_instant_is_distinct_and_zoned() -> None:
    instants = [datetime.fromisoformat(text) for text in INSTANTS.values()]
    assert all(i.tzinfo is not None for i in instants)
    assert len(set(instants)) == len(instants)


# The warehouse's own bookkeeping may use its own clock: when it stored a row, when it refreshed.
WAREHOUSE_CLOCK = {
    "schemas/clickhouse/001_events.sql": "ingested_at",
    "schemas/clickhouse/011_sl_daily.sql": "refreshed_at",
}


def test_no_query_asks_clickhouse_for_the_time() -> None:
    """chdb's clock is not moved by libfaketime, and a server's may drift from the workers':
    what a query asks about "now" comes from Python, never from SQL."""
    pattern = re.compile(r"\b(now|now64|today|yesterday)\(\d*\)", re.IGNORECASE)
    offenders = []
    for root in ("services", "streams", "schemas"):
        for path in (REPO / root).rglob("*"):
            if path.suffix not in (".sql", ".py"):
                continue
            name = str(path.relative_to(REPO))
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if not pattern.search(line) or re.search(r"\b(datetime|date|time)\.", line):
                    continue
                if WAREHOUSE_CLOCK.get(name, "\0") not in line:
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []
