"""Replay: canonical NDJSON event lines in, one outcome dict per (contact, milestone) out.

Pure (no files, no clock): the CLI opens the input and prints. A bad line never stops the run:
it is reported with its 1-based line number and every good line is still evaluated. The
evaluation instant defaults to the latest ``occurred_at`` of the input, so replaying the same
file twice gives the same answer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.events import ContactEvent, EventValidationError, parse_event
from schemas.units import MINUTE_MS
from streams.sla.clock import Outcome, Status, evaluate
from streams.sla.fastparse import fast_event
from streams.sla.policy import Policy
from streams.sla.state import ContactState, build_state
from streams.sla.versions import Rules, rules_of


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects.

    Replay creates events, states and outcomes that hold no reference cycles; the collector's
    repeated full scans of them cost about a third of the run (bench/replay.py). Reference
    counting still frees everything; the collector is restored to its previous state.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class LineError:
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class Loaded:
    """Events of the input grouped by contact, plus the lines that could not be read."""

    events: dict[str, list[ContactEvent]] = field(default_factory=dict)
    errors: list[LineError] = field(default_factory=list)
    latest: int | None = None  # latest occurred_at seen

    def states(self) -> dict[str, ContactState]:
        return {cid: build_state(evs) for cid, evs in self.events.items()}


def load_events(lines: Iterable[str | bytes]) -> Loaded:
    """Parse NDJSON lines (blank lines skipped) and group the events by contact."""
    loaded = Loaded()
    groups = loaded.events
    latest = None
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():
            continue
        try:
            obj = orjson.loads(line)
            event = fast_event(obj) or parse_event(obj)
        except orjson.JSONDecodeError as exc:
            loaded.errors.append(LineError(number, f"not JSON: {exc}"))
            continue
        except EventValidationError as exc:
            loaded.errors.append(LineError(number, f"not a contact event: {exc}"))
            continue
        bucket = groups.get(event.contact_id)
        if bucket is None:
            groups[event.contact_id] = [event]
        else:
            bucket.append(event)
        if latest is None or event.occurred_at > latest:
            latest = event.occurred_at
    loaded.latest = latest
    return loaded


_MINUTES: dict[int, str] = {}


def format_instant(epoch_ms: int | None) -> str | None:
    """Epoch ms -> ``2026-11-27T09:15:00.000Z`` (same text as schemas.events.format_timestamp;
    a cache of ``2026-11-27T09:15:`` minute prefixes keeps datetime out of the per-outcome
    path)."""
    if epoch_ms is None:
        return None
    minute, ms = divmod(epoch_ms, MINUTE_MS)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        prefix = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
        if len(_MINUTES) > 1_000_000:
            _MINUTES.clear()
        _MINUTES[minute] = prefix
    second, millis = divmod(ms, 1000)
    return f"{prefix}{second:02d}.{millis:03d}Z"


_STATUS_TEXT = {status: status.value for status in Status}


def outcome_to_json(o: Outcome) -> dict[str, Any]:
    """The replay line of one outcome (times RFC 3339 UTC, durations in seconds)."""
    return {
        "contact_id": o.contact_id,
        "milestone": o.milestone,
        "status": _STATUS_TEXT[o.status],
        "started_at": format_instant(o.started_at),
        "due_at": format_instant(o.due_at),
        "stopped_at": format_instant(o.stopped_at),
        "elapsed_seconds": o.elapsed_ms / 1000,
        "target_seconds": o.target_ms / 1000,
        "warnings_crossed": list(o.warnings_crossed),
        "ended_by": o.ended_by,
        "paused": o.paused,
        "calendar": o.calendar,
        "tenant": o.tenant,
        "region": o.region,
        "channel": o.channel,
        "kind": o.kind,
        "customer_category": o.customer_category,
        "office": o.office,
        "policy": o.policy,
        "policy_version": o.policy_version,
    }


def evaluate_all(
    states: dict[str, ContactState], policy: Policy | Rules, as_of: int
) -> list[Outcome]:
    """Outcomes of every contact at ``as_of``, sorted by contact_id then milestone; each contact
    judged by the policy ``policy`` selects for it (streams.sla.versions)."""
    rules = rules_of(policy)
    out: list[Outcome] = []
    for cid in sorted(states):
        state = states[cid]
        chosen = rules.for_state(state)
        found = evaluate(state, chosen, as_of)
        out.extend(found if _in_order(chosen) else sorted(found, key=_milestone_of))
    return out


def _in_order(policy: Policy, _seen: dict[int, tuple[Policy, bool]] = {}) -> bool:  # noqa: B006
    """True when evaluate's policy order is already milestone order (no sort needed); kept
    per policy object, since a run meets only a few."""
    hit = _seen.get(id(policy))
    if hit is None or hit[0] is not policy:
        ids = [m.id for m in policy.milestones]
        hit = _seen[id(policy)] = (policy, ids == sorted(ids))
    return hit[1]


def ndjson_chunks(rows: list[dict[str, Any]], size: int = 256) -> Iterator[bytes]:
    """Outcome rows as NDJSON, ``size`` lines per bytes chunk (one write each).

    Joining a few hundred lines at a time matters: holding every line's own bytes object until
    one final join made each ``orjson.dumps`` about 5x slower (each line is a fresh ~1 KiB
    buffer; freed in small batches, the allocator reuses them).
    """
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for i in range(0, len(rows), size):
        yield b"".join([dumps(row, option=newline) for row in rows[i:i + size]])


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    """Outcome rows as NDJSON bytes, one line per row."""
    return b"".join(ndjson_chunks(rows))


@dataclass(frozen=True, slots=True)
class ReplayResult:
    outcomes: list[dict[str, Any]]
    errors: list[LineError]
    as_of: int | None
    anomalies: dict[str, tuple[str, ...]]  # contact_id -> anomalies (contacts with any)


def replay(
    lines: Iterable[str | bytes], policy: Policy | Rules, as_of: int | None = None
) -> ReplayResult:
    """Evaluate every contact in ``lines`` at ``as_of`` (default: the latest occurred_at), each
    by the policy ``policy`` selects for it (a bare Policy judges them all)."""
    with paused_gc():
        # the events and states are freed when _replay returns, still inside the pause: the
        # collector, once back, never scans the millions of them (about 5% of the run)
        return _replay(lines, policy, as_of)


def _replay(
    lines: Iterable[str | bytes], policy: Policy | Rules, as_of: int | None
) -> ReplayResult:
    """One contact at a time: its state, its outcomes, its rows; then the next.

    Each contact's events, state and Outcomes are freed as soon as its rows exist, so memory
    is reused while it is still in the CPU cache instead of piling up millions of objects (the
    same answer as ``evaluate_all`` + ``outcome_to_json``, faster).
    """
    loaded = load_events(lines)
    when = as_of if as_of is not None else loaded.latest
    groups = loaded.events
    rules = rules_of(policy)
    rows: list[dict[str, Any]] = []
    anomalies: dict[str, tuple[str, ...]] = {}
    for cid in sorted(groups):
        state = build_state(groups.pop(cid))
        if state.anomalies:
            anomalies[cid] = state.anomalies
        if when is not None:
            chosen = rules.for_state(state)
            found = evaluate(state, chosen, when)
            if not _in_order(chosen):
                found.sort(key=_milestone_of)
            rows.extend([outcome_to_json(o) for o in found])
    return ReplayResult(rows, loaded.errors, when, anomalies)


def _milestone_of(outcome: Outcome) -> str:
    return outcome.milestone
