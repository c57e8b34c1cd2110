"""`kontakt simulate --to api` against the real platform (API + Kafka): the tenant's ingest key
takes the simulated events and they land on the contact-events topic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from schemas.codec import decode_event
from schemas.events import format_timestamp, parse_timestamp
from tests.fixtures.board_stack import TENANT, BoardStack

pytestmark = pytest.mark.kafka

# Tuesday 2026-03-03 10:00 Moscow (07:00 UTC), a working day.
BUSY_WEEKDAY_MORNING_MS = parse_timestamp("2026-03-03T07:00:00Z")


def test_simulate_posts_through_the_ingest_api(
    board_stack: BoardStack, read_records: Callable[..., list[Any]]
) -> None:
    # A fixed weekday morning, in the past (no future-skew rejects): the load at 0.2 is the
    # same whatever hour, weekday or date the suite runs at.
    start = BUSY_WEEKDAY_MORNING_MS
    args = [
        "simulate",
        "--tenants",
        TENANT,
        "--start",
        format_timestamp(start),
        "--days",
        "0.05",
        "--load-factor",
        "0.2",
        "--to",
        "api",
        "--api-url",
        board_stack.base_url,
        "--api-key",
        f"{TENANT}={board_stack.ingest_key}",
        "--batch-size",
        "100",
        "--no-progress",
        "--seed",
        "31",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=board_stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sent = int(done.stderr.split("simulate: ")[1].split(" events")[0])
    assert sent > 50
    records = read_records(board_stack.topic("contact-events"))
    events = [decode_event(r.value) for r in records]
    simulated = [e for e in events if e.event_id.startswith("sim-31-")]
    assert len(simulated) == sent
    assert {e.tenant for e in simulated} == {TENANT}
    assert all(r.key == e.contact_id.encode() for r, e in zip(records, events, strict=True))
