"""Tenants on their own policy versions, one of them changed mid-run while calls flow, on the
real broker: the worker's final outcome of every clock, and the version that judged it, equal
`kontakt sla evaluate --policies` over the same events and versions.

The calls are produced as they happen (each event when its instant comes), so the change is
read by a worker that is judging live calls, and contacts on both sides of its effective
instant exist: those whose first event came before it keep the old version.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.codec import encode
from schemas.events import (
    Channel,
    ContactEvent,
    EventType,
    event_to_json,
    format_timestamp,
    parse_timestamp,
)
from streams.sla.versions import parse_version, published_record
from tests.fixtures.worker import WorkerStack, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

S = 1000
STRICT_PHONE = """
name = "answer-in-20s"
[[{path}.milestones]]
id = "phone.answer"
channels = ["phone"]
start = "queued"
stop = ["answered"]
cancel = ["closed"]
abandon_rule = true
target = "20s"
warnings = [0.5]
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def version_text(tenant: str, effective_from: int, body: str) -> str:
    return (f'[[versions]]\ntenant = "{tenant}"\n'
            f'effective_from = "{format_timestamp(effective_from)}"\n{body}\n')


def publish(stack: WorkerStack, texts: list[str], tenant: str) -> None:
    """The tenant's history (its versions in ``texts``) as one PolicyVersionPublished."""
    from services.adapters.kafka_publisher import KafkaPublisher

    docs = tomllib.loads("\n".join(texts))["versions"]
    history = [parse_version({k: v for k, v in d.items() if k != "tenant"}, tenant, i + 1,
                             f"{tenant} v{i + 1}", "test", now_ms())
               for i, d in enumerate(docs)]
    publisher = KafkaPublisher(stack.bootstrap)
    try:
        record = encode("PolicyVersionPublished", published_record(history))
        publisher.publish(stack.topic("policies"), [(tenant.encode(), record)], timeout_s=30)
    finally:
        publisher.close()


def calls(tenant: str, start: int, span_s: int, n: int, rng: random.Random
          ) -> list[ContactEvent]:
    """Phone calls queued over ``span_s``; each answered after 5-38 s, or abandoned and called
    back (the callback clock) -- all ended well before the test looks."""
    out = []
    for i in range(n):
        cid = f"{tenant}-{i:03d}"
        t = start + rng.randint(0, span_s * S)
        wait = rng.randint(5 * S, 38 * S)
        steps = [(EventType.QUEUED, t)]
        if rng.random() < 0.8:
            steps.append((EventType.ANSWERED, t + wait))
        else:
            steps += [(EventType.ABANDONED, t + wait), (EventType.CALLBACK_REQUESTED, t + wait + 1),
                      (EventType.CALLBACK_COMPLETED, t + wait + rng.randint(2 * S, 10 * S))]
        out += [ContactEvent(f"{cid}-{k}", cid, tenant, "kursk", Channel.PHONE, etype, at)
                for k, (etype, at) in enumerate(steps)]
    return out


def final_outcomes(stack: WorkerStack) -> dict[tuple[str, str], tuple[Any, ...]]:
    last: dict[tuple[str, str], tuple[Any, ...]] = {}
    for name, d in stack.decoded("outcomes"):
        if name == "MilestoneOutcomeEvaluated":
            last[(d["contact_id"], d["milestone"])] = (
                d["status"], d["started_at"], d["due_at"], d["stopped_at"], d["policy_version"])
    return last


def replay(events: list[ContactEvent], versions: Path, as_of: int, tmp: Path
           ) -> dict[tuple[str, str], tuple[Any, ...]]:
    ndjson = tmp / "events.ndjson"
    ndjson.write_bytes(b"".join(orjson.dumps(event_to_json(e)) + b"\n" for e in events))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kontakt"), "sla", "evaluate", "--policy",
         "rao-ues-2007", "--policies", str(versions), "--as-of", format_timestamp(as_of),
         "--input", str(ndjson)], capture_output=True, check=True, timeout=120)
    out = {}
    for line in done.stdout.splitlines():
        row = orjson.loads(line)
        stamps = [None if row[k] is None else parse_timestamp(row[k])
                  for k in ("started_at", "due_at", "stopped_at")]
        out[(row["contact_id"], row["milestone"])] = (row["status"], *stamps,
                                                      row["policy_version"])
    return out


def test_two_tenants_and_a_change_mid_run_judge_every_clock_as_replay_does(
    worker_stack: WorkerStack, tmp_path: Path
) -> None:
    stack, rng = worker_stack, random.Random(14)
    stack.env["KONTAKT_SLA_POLICY"] = "rao-ues-2007"  # the platform default: tenant "plain"
    start = now_ms()
    # "strict": its own 20 s answer target, then order 186's presets from a change published
    # while its calls flow; "grid": order 186 (no phone-answer clock at all) throughout
    strict = [version_text("strict", start - 3_600 * S,
                           "[versions.default]" + STRICT_PHONE.format(path="versions.default"))]
    grid = [version_text("grid", start - 3_600 * S,
                         '[versions.default]\npreset = "minenergo-186"')]
    publish(stack, strict, "strict")
    publish(stack, grid, "grid")
    events = sorted(calls("strict", start + 2 * S, 24, 40, rng)
                    + calls("grid", start + 2 * S, 24, 15, rng)
                    + calls("plain", start + 2 * S, 24, 15, rng),
                    key=lambda e: e.occurred_at)
    stack.start_worker()
    change_published, change_at = False, start + 14 * S
    sent = 0
    while sent < len(events):
        now = now_ms()
        if not change_published and now >= start + 10 * S:
            strict.append(version_text("strict", change_at,
                                       '[versions.default]\npreset = "rao-ues-2007"'))
            publish(stack, strict, "strict")  # the 4 s lead: read well before change_at
            change_published = True
        due = [e for e in events[sent:] if e.occurred_at <= now]
        if due:
            stack.produce(due)
            sent += len(due)
        time.sleep(0.2)
    assert change_published
    versions = tmp_path / "versions.toml"
    versions.write_text("\n".join(strict + grid), encoding="utf-8")
    time.sleep(2)  # past the last event, so replay's as-of sees every clock ended
    expected = replay(events, versions, now_ms(), tmp_path)
    assert wait_until(lambda: final_outcomes(stack) == expected, 90, 2), (
        sorted(set(final_outcomes(stack).items()) ^ set(expected.items()))[:20], stack.logs())
    # the test is only worth something if each version judged calls, and differently
    by: dict[tuple[str, str, int], list[str]] = {}
    for (cid, milestone), (status, started, _due, stopped, v) in expected.items():
        long_wait = stopped is not None and 20 * S < stopped - started <= 38 * S
        by.setdefault((cid.split("-")[0], milestone, v), []).append(
            f"{status}{' long' if long_wait else ''}")
    # a wait of 20-38 s breaches the strict 20 s (version 1) and meets 40 s (version 2)
    assert "breached long" in by[("strict", "phone.answer", 1)], by
    assert "met long" in by[("strict", "phone.answer", 2)], by
    assert "met long" not in by[("strict", "phone.answer", 1)], by
    assert not any(k[0] == "grid" and k[1] == "phone.answer" for k in by), by  # order 186
    assert {k[2] for k in by if k[0] == "grid"} == {1}, by
    assert {k[2] for k in by if k[0] == "plain"} == {0}, by
