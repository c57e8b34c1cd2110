"""The simulator's output: deterministic bytes, valid events, valid lifecycles, realistic mixes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

import orjson
from typer import Typer
from typer.testing import CliRunner

from schemas.events import (
    Channel,
    ContactEvent,
    CustomerCategory,
    EventType,
    Kind,
    event_to_json,
    parse_event,
    parse_timestamp,
)
from services.cli import simulate as simulate_cli
from services.ingest.pseudonym import REF_PATTERN
from services.simulator.generate import generate
from services.simulator.model import DEFAULT_CATEGORY_SHARES, SimConfig, random_storms
from services.simulator.sinks import ndjson_line
from streams.sla.clock import Status, evaluate
from streams.sla.policy import load_policy
from streams.sla.state import build_state

START = parse_timestamp("2026-11-02T00:00:00Z")  # a Monday


def _config(seed: int = 7, days: float = 2.0, **kw: object) -> SimConfig:
    kw.setdefault("load_factor", 0.5)
    return SimConfig(seed=seed, start_ms=START, days=days, **kw)  # type: ignore[arg-type]


def _ndjson(config: SimConfig) -> bytes:
    return b"".join(ndjson_line(e) for e in generate(config))


@lru_cache(maxsize=1)
def _two_days() -> tuple[ContactEvent, ...]:
    storms = random_storms(7, ("voronezh", "tver"), START, START + 2 * 86_400_000, 2)
    return tuple(generate(_config(storms=storms)))


def test_same_seed_gives_byte_identical_ndjson() -> None:
    config = _config(days=1.0)
    first, second = _ndjson(config), _ndjson(config)
    assert len(first) > 100_000
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


def test_different_seeds_differ() -> None:
    assert _ndjson(_config(seed=1, days=0.25)) != _ndjson(_config(seed=2, days=0.25))


def test_cli_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    app = Typer()
    simulate_cli.register(app)
    outputs = []
    for name in ("a.ndjson", "b.ndjson"):
        path = tmp_path / name
        args = [
            "--seed",
            "11",
            "--start",
            "2026-03-02",
            "--days",
            "0.5",
            "--load-factor",
            "0.3",
            "--outage-region",
            "kursk",
            "--outage-at",
            "300",
            "--output",
            str(path),
            "--no-progress",
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") > 1000
    assert b'"storm":"kursk"' in outputs[0]


def test_cli_rejects_a_region_no_tenant_serves() -> None:
    app = Typer()
    simulate_cli.register(app)
    result = CliRunner().invoke(app, ["--tenants", "teploset", "--outage-region", "kursk"])
    assert result.exit_code != 0
    assert "kursk" in str(result.exception)


def test_every_line_parses_and_round_trips() -> None:
    for line in _ndjson(_config(days=0.5)).splitlines():
        obj = orjson.loads(line)
        assert event_to_json(parse_event(obj)) == obj


def test_events_come_in_occurred_at_order_within_the_range() -> None:
    events = _two_days()
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] < START + 2 * 86_400_000
    assert len({e.event_id for e in events}) == len(events)


def _by_contact() -> dict[str, list[ContactEvent]]:
    contacts: dict[str, list[ContactEvent]] = defaultdict(list)
    for e in _two_days():
        contacts[e.contact_id].append(e)
    return contacts


ORDER_RULES = {  # event type -> types that must all come before it in the same contact
    EventType.QUEUED: {EventType.RECEIVED},
    EventType.ANSWERED: {EventType.QUEUED},
    EventType.ABANDONED: {EventType.QUEUED},
    EventType.CLASSIFIED: {EventType.REGISTERED},
    EventType.ASSIGNED: {EventType.CLASSIFIED},
    EventType.CALLBACK_COMPLETED: {EventType.CALLBACK_REQUESTED},
    EventType.RESUMED: {EventType.PAUSED},
    EventType.RESPONDED: {EventType.ASSIGNED},
}


def test_every_contact_follows_a_valid_lifecycle() -> None:
    contacts = _by_contact()
    assert len(contacts) > 5000
    for contact_id, events in contacts.items():
        assert [e.event_id for e in events] == sorted(e.event_id for e in events), contact_id
        assert events[0].type is EventType.RECEIVED
        assert len({(e.tenant, e.region, e.channel, e.kind, e.customer_ref) for e in events}) == 1
        seen: set[EventType] = set()
        for e in events:
            assert e.type not in seen, f"{contact_id}: {e.type} twice"
            assert ORDER_RULES.get(e.type, set()) <= seen, f"{contact_id}: {e.type} too early"
            assert EventType.CLOSED not in seen, f"{contact_id}: event after closed"
            seen.add(e.type)
        assert not ({EventType.ANSWERED, EventType.ABANDONED} <= seen)
        if EventType.RESOLVED in seen and events[0].channel is not Channel.PHONE:
            assert EventType.RESPONDED in seen or events[0].channel is Channel.IN_PERSON
        assert build_state(events).anomalies == (), contact_id


def test_queued_channels_are_phone_and_office_only() -> None:
    queued = {e.channel for e in _two_days() if e.type is EventType.QUEUED}
    assert queued == {Channel.PHONE, Channel.IN_PERSON}


def test_presets_see_met_breached_and_cancelled_outcomes() -> None:
    contacts = _by_contact()
    now = START + 2 * 86_400_000
    statuses: Counter[tuple[str, Status]] = Counter()
    for preset in ("rao-ues-2007", "minenergo-186"):
        policy = load_policy(preset)
        for events in contacts.values():
            for outcome in evaluate(build_state(events), policy, now):
                statuses[outcome.milestone, outcome.status] += 1
    assert statuses["phone.answer", Status.MET] > statuses["phone.answer", Status.BREACHED] > 0
    assert statuses["phone.answer", Status.CANCELLED] > 0
    assert statuses["callback", Status.MET] > 0 and statuses["office.wait", Status.MET] > 0
    assert statuses["email.dispatch", Status.MET] > 0
    assert statuses["complaint.status", Status.MET] > 0
    assert statuses["complaint.status", Status.CANCELLED] > 0


def test_channels_kinds_pauses_callbacks_and_repeats_all_occur() -> None:
    events = _two_days()
    assert {e.channel for e in events} == set(Channel)
    assert {e.kind for e in events} == set(Kind)
    types = Counter(e.type for e in events)
    for needed in (
        EventType.PAUSED,
        EventType.RESUMED,
        EventType.CALLBACK_REQUESTED,
        EventType.CALLBACK_COMPLETED,
        EventType.ABANDONED,
        EventType.RESPONDED,
    ):
        assert types[needed] > 0, needed
    firsts = [e for e in events if e.type is EventType.RECEIVED]
    related = [e for e in firsts if e.related_to]
    by_id = {e.contact_id: e for e in firsts}
    assert 0.03 < len(related) / len(firsts) < 0.2
    for e in related:
        earlier = by_id[e.related_to]  # type: ignore[index]
        assert earlier.occurred_at < e.occurred_at
        assert (earlier.customer_ref, earlier.topic) == (e.customer_ref, e.topic)
    assert all(REF_PATTERN.match(e.customer_ref or "") for e in firsts)  # the API accepts them
    refs = Counter(e.customer_ref for e in firsts)
    assert sum(1 for n in refs.values() if n > 1) > len(related) // 2  # repeats without a link too


def test_customer_category_shares_are_near_the_configured_ones() -> None:
    firsts = [e for e in _two_days() if e.type is EventType.RECEIVED and not e.related_to]
    counts = Counter(e.customer_category for e in firsts)
    for category in CustomerCategory:
        share = counts[category] / len(firsts)
        assert abs(share - DEFAULT_CATEGORY_SHARES[category]) < 0.015, (category, share)


def test_custom_category_shares_are_honoured() -> None:
    shares = {
        CustomerCategory.STANDARD: 0.5,
        CustomerCategory.DISABLED: 0.5,
        CustomerCategory.VETERAN: 0.0,
        CustomerCategory.VULNERABLE: 0.0,
    }
    config = _config(days=0.5, category_shares=shares)
    counts = Counter(e.customer_category for e in generate(config) if e.type is EventType.RECEIVED)
    assert set(counts) == {CustomerCategory.STANDARD, CustomerCategory.DISABLED}
    assert 0.4 < counts[CustomerCategory.DISABLED] / sum(counts.values()) < 0.6


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    digests = set()
    for hash_seed in ("1", "2"):
        path = tmp_path / f"h{hash_seed}.ndjson"
        args = [
            "simulate",
            "--seed",
            "5",
            "--start",
            "2026-02-20T18:00:00Z",
            "--days",
            "0.25",
            "--random-storms",
            "1",
            "--output",
            str(path),
            "--no-progress",
        ]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "services.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


def test_cli_explains_a_bad_start() -> None:
    app = Typer()
    simulate_cli.register(app)
    result = CliRunner().invoke(app, ["--start", "01.10.2026", "--output", "-"])
    assert result.exit_code != 0
    assert "--start" in str(result.exception) and "2026-10-01" in str(result.exception)
