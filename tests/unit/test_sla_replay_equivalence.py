"""The optimised replay writes byte for byte what the straightforward path writes.

The straightforward path is the one a newcomer would write from the docs: ``json.loads`` +
``schemas.events.parse_event`` per line, ``fold`` one event at a time, ``evaluate`` per contact,
one ``orjson.dumps`` per outcome with ``format_timestamp``. The input is generated to reach
every branch the fast paths skip: pauses (resumed and not), abandons, closes and reopens,
duplicates, arrival out of order, non-canonical timestamps, attributes, category and kind
changes, identity anomalies and bad lines.
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

from schemas.events import (
    EventValidationError,
    format_timestamp,
    parse_event,
)
from streams.sla.clock import Outcome, evaluate
from streams.sla.policy import Policy, load_policy, policy_from_mapping
from streams.sla.replay import ndjson, replay
from streams.sla.state import ContactState, fold

T0 = 1_796_000_000_000  # 2026-11-30, a Monday
MIN = 60_000
WORKING_HOURS = policy_from_mapping({"milestones": [
    # ids out of order on purpose: the replay must still sort milestones per contact
    {"id": "z.reply", "channels": ["email", "web"], "start": "received",
     "stop": ["registered", "responded"], "cancel": ["closed"], "pausable": True,
     "target": "16h", "calendar": "ru-workdays-9-18", "warnings": [0.5, 0.9],
     "category_targets": {"disabled": "8h", "veteran": "2h"}},
    {"id": "a.queue", "channels": ["phone", "in_person"], "start": "queued",
     "stop": ["answered"], "cancel": ["closed"], "abandon_rule": True, "target": "40s",
     "warnings": [0.5, 0.8], "category_targets": {"vulnerable": "20s"}},
    {"id": "m.callback", "start": "callback_requested", "stop": ["callback_completed"],
     "pausable": True, "target": "4h", "calendar": "ru-workdays-08:30-17:30"},
]}, "working-hours")

FLOWS = [
    ("phone", ["queued", "answered", "closed"]),
    ("phone", ["queued", "abandoned"]),
    ("phone", ["queued", "abandoned", "closed"]),
    ("phone", ["queued", "closed", "answered", "reopened", "answered"]),
    ("phone", ["queued", "answered", "callback_requested", "paused", "resumed",
               "callback_completed"]),
    ("email", ["received", "registered", "classified", "assigned", "responded"]),
    ("email", ["received", "paused", "paused", "resumed", "registered", "responded"]),
    ("web", ["received", "paused", "resumed", "paused", "responded", "closed"]),
    ("web", ["received", "paused"]),
    ("in_person", ["queued", "answered"]),
    ("post", ["answered", "resumed", "closed"]),  # unknown contact, impossible transitions
]
KINDS = ("inquiry", "inquiry", "inquiry", "complaint", "outage")
CATEGORIES = ("standard", "standard", "standard", "disabled", "veteran", "vulnerable")
REGIONS = ("kursk", "tver", "belgorod", "samara", "nowhere")


def _stamp(ms: int, rnd: random.Random) -> str:
    """Mostly the canonical form; sometimes forms only parse_event reads."""
    text = format_timestamp(ms)
    roll = rnd.random()
    if roll < 0.05:
        return text[:19] + "Z"  # no milliseconds
    if roll < 0.1:
        return format_timestamp(ms + 3 * 3_600_000)[:23] + "+03:00"
    return text


def _contact(rnd: random.Random, number: int) -> list[dict[str, Any]]:
    channel, steps = rnd.choice(FLOWS)
    start = T0 + rnd.randrange(0, 10 * 24 * 60) * MIN + rnd.randrange(60_000)
    region = rnd.choice(REGIONS)
    at = start
    out = []
    for i, etype in enumerate(steps):
        at += rnd.choice((0, 1, 999, 20_000, 40_000, 41_000, 3_600_000, 20 * 3_600_000))
        obj: dict[str, Any] = {
            "event_id": f"ev-{number}-{i}", "contact_id": f"ct-{number:05d}",
            "tenant": "mrsk-center", "region": region, "channel": channel, "type": etype,
            "occurred_at": _stamp(at, rnd), "kind": rnd.choice(KINDS),
            "customer_category": rnd.choice(CATEGORIES),
        }
        if rnd.random() < 0.5:
            obj["office"] = f"{region}-{rnd.randrange(3)}"
        if rnd.random() < 0.1:
            obj["attributes"] = {"talk_seconds": str(rnd.randrange(600))}
        if rnd.random() < 0.05:
            obj["agent"] = f"agent-{rnd.randrange(9)}"
        if rnd.random() < 0.03:
            obj["region"] = "tver" if region != "tver" else "kursk"  # identity anomaly
        if rnd.random() < 0.05:
            del obj["kind"]
        out.append(obj)
    return out


def _bad_line(rnd: random.Random, good: bytes) -> bytes:
    obj = json.loads(good)
    choice = rnd.randrange(6)
    if choice == 0:
        return good[: len(good) // 2]  # truncated JSON
    if choice == 1:
        obj["channel"] = "fax"
    elif choice == 2:
        obj["occurred_at"] = "yesterday"
    elif choice == 3:
        del obj["tenant"]
    elif choice == 4:
        obj["office"] = 7
    else:
        return b"[1, 2]"
    return json.dumps(obj).encode()


def generate(seed: int, contacts: int) -> list[bytes]:
    rnd = random.Random(seed)
    lines: list[bytes] = []
    for number in range(contacts):
        for obj in _contact(rnd, number):
            line = orjson.dumps(obj)
            lines.append(line)
            if rnd.random() < 0.05:
                lines.append(line)  # duplicate delivery
            if rnd.random() < 0.03:
                lines.append(_bad_line(rnd, line))
            if rnd.random() < 0.01:
                lines.append(b"   ")
    for i in range(0, len(lines) - 16, 8):  # arrival out of order, across contacts
        window = lines[i:i + 16]
        rnd.shuffle(window)
        lines[i:i + 16] = window
    return lines


def _row(o: Outcome) -> dict[str, Any]:
    def stamp(ms: int | None) -> str | None:
        return None if ms is None else format_timestamp(ms)

    return {
        "contact_id": o.contact_id, "milestone": o.milestone, "status": o.status.value,
        "started_at": stamp(o.started_at), "due_at": stamp(o.due_at),
        "stopped_at": stamp(o.stopped_at), "elapsed_seconds": o.elapsed_ms / 1000,
        "target_seconds": o.target_ms / 1000, "warnings_crossed": list(o.warnings_crossed),
        "ended_by": o.ended_by, "paused": o.paused, "calendar": o.calendar,
        "tenant": o.tenant, "region": o.region, "channel": o.channel, "kind": o.kind,
        "customer_category": o.customer_category, "office": o.office,
        "policy": o.policy, "policy_version": o.policy_version,
    }


def straightforward(lines: list[bytes], policy: Policy, as_of: int | None
                    ) -> tuple[bytes, list[str], dict[str, tuple[str, ...]]]:
    states: dict[str, ContactState] = {}
    errors: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = parse_event(json.loads(line))
        except json.JSONDecodeError:
            errors.append(f"line {number}: not JSON")
            continue
        except EventValidationError as exc:
            errors.append(f"line {number}: not a contact event: {exc}")
            continue
        states[event.contact_id] = fold(states.get(event.contact_id), event)
    latest = max((e.occurred_at for s in states.values() for e in s.events), default=None)
    now = as_of if as_of is not None else latest
    out = b""
    for cid in sorted(states):
        for o in sorted(evaluate(states[cid], policy, now), key=lambda o: o.milestone):
            out += orjson.dumps(_row(o)) + b"\n"
    anomalies = {cid: s.anomalies for cid, s in sorted(states.items()) if s.anomalies}
    return out, errors, anomalies


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("policy_name", ["rao-ues-2007", "minenergo-186", "working-hours"])
def test_optimised_replay_is_byte_identical(seed: int, policy_name: str) -> None:
    policy = WORKING_HOURS if policy_name == "working-hours" else load_policy(policy_name)
    lines = generate(seed, 300)
    rnd = random.Random(seed)
    as_of = None if seed % 2 else T0 + rnd.randrange(0, 11 * 24 * 60) * MIN
    expected, errors, anomalies = straightforward(lines, policy, as_of)
    result = replay(lines, policy, as_of)
    assert ndjson(result.outcomes) == expected
    # JSON error texts come from different parsers; the line numbers and the rest must agree
    assert [str(e) if "not JSON" not in str(e) else str(e).split(": not JSON")[0] + ": not JSON"
            for e in result.errors] == errors
    assert result.anomalies == anomalies
    assert expected.count(b"\n") > 20 and errors and anomalies  # the input reached them


def test_the_generated_input_reaches_every_status() -> None:
    expected, _, _ = straightforward(generate(0, 300), WORKING_HOURS, None)
    rows = [json.loads(x) for x in expected.splitlines()]
    assert {r["status"] for r in rows} == {"met", "breached", "open", "cancelled"}
    assert any(r["paused"] for r in rows) and any(r["due_at"] is None for r in rows)
    assert {r["calendar"] for r in rows} == {"24x7", "ru-workdays-9-18",
                                            "ru-workdays-08:30-17:30"}
