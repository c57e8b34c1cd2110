"""Live appeals (streams/sla/appeal_stream.py, streams/appeal_agent.py): the per-customer fold
equals the batch rebuild over a simulated week with repeat contacts, whatever the interleaving
and redelivery; redelivery re-emits the same update; pruning keeps appeal ids; the sink maps
an update to appeal_links rows; and the worker's agents re-key and emit on faust's test
context."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
from collections import defaultdict
from typing import Any

import pytest

from schemas.codec import decode, encode, encode_event
from schemas.events import Channel, ContactEvent, CustomerCategory, EventType
from schemas.units import DAY_MS, HOUR_MS, MINUTE_MS
from services.settings import load_settings
from services.sink.rows import record_rows
from streams.app import create_worker
from streams.outbox import OutRecord
from streams.sla.appeal_stream import (
    CustomerContacts,
    appeal_datum,
    appeal_key,
    decode_state,
    encode_state,
    expired,
    fingerprint,
    fold,
    received_at,
)
from streams.sla.appeals import appeals, appeals_from_events, customer_time, link
from tests.fixtures.appeal_week import week

T0 = 1_795_000_020_000  # a fixed instant (2026-11-18)
WINDOW = 7 * DAY_MS
KEEP = WINDOW + 35 * DAY_MS
VETERAN = CustomerCategory.VETERAN


def run_stream(events: list[ContactEvent], keep_ms: int = KEEP) -> list[dict[str, Any]]:
    """The worker's routing and fold, in delivery order: every AppealUpdated datum emitted."""
    states: dict[str, CustomerContacts | None] = {}
    refs: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    linked = itertools.count(1)
    for e in events:
        if e.customer_ref:
            refs[e.contact_id] = e.customer_ref
        key = appeal_key(e.tenant, refs.get(e.contact_id), e.contact_id)
        state = states.get(key)
        raw = None if state is None else encode_state(state)  # through the table encoding
        states[key], updated = fold(None if raw is None else decode_state(raw), e,
                                    window_ms=WINDOW, keep_ms=keep_ms)
        out += [appeal_datum(a, window_ms=WINDOW, linked_at=next(linked)) for a in updated]
    return out


def latest_links(updates: list[dict[str, Any]]) -> dict[str, str]:
    """contact_id -> appeal_id as appeal_links reads it (the latest linked_at wins)."""
    links: dict[str, str] = {}
    for d in sorted(updates, key=lambda d: d["linked_at"]):
        for cid in d["contact_ids"]:
            links[cid] = d["appeal_id"]
    return links


def delivered(events: list[ContactEvent], seed: int) -> list[ContactEvent]:
    """Kafka's delivery: each contact's events in order (keyed by contact), contacts
    interleaved, some events delivered twice (redelivery after a crash)."""
    rng = random.Random(seed)
    per: dict[str, list[ContactEvent]] = defaultdict(list)
    for e in events:
        per[e.contact_id].append(e)
    queues = [list(v) for v in per.values()]
    out: list[ContactEvent] = []
    while queues:
        q = rng.choice(queues)
        e = q.pop(0)
        out.append(e)
        if rng.random() < 0.1:
            out.append(e)
        if not q:
            queues.remove(q)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stream_equals_the_rebuild_over_a_simulated_week(seed: int) -> None:
    events = week(T0, seed=seed, customers=40)
    updates = run_stream(delivered(events, seed))
    times = [customer_time(evs) for _, evs in itertools.groupby(
        sorted(events, key=lambda e: (e.contact_id, e.occurred_at, e.event_id)),
        key=lambda e: e.contact_id)]  # fmt: skip
    rebuilt = link(times, WINDOW)
    assert latest_links(updates) == {k.split("\x00")[1]: v for k, v in rebuilt.items()}
    found = appeals_from_events(events, WINDOW)
    assert sum(a.contacts > 1 for a in found) >= 5  # the week has repeat contacts
    final: dict[str, dict[str, Any]] = {}
    for d in sorted(updates, key=lambda d: d["linked_at"]):
        final[d["appeal_id"]] = d
    for a in found:  # the latest update of each appeal carries the rebuild's figures
        want = appeal_datum(a, window_ms=WINDOW, linked_at=0)
        assert {**final[a.appeal_id], "linked_at": 0} == want


def test_a_redelivered_event_re_emits_the_same_update() -> None:
    events = week(T0, seed=5, customers=5)
    mine = [e for e in events if e.customer_ref == events[0].customer_ref]
    state: CustomerContacts | None = None
    emitted: dict[str, dict[str, Any]] = {}
    for e in mine:
        state, out = fold(state, e, window_ms=WINDOW, keep_ms=KEEP)
        emitted.update({a.appeal_id: appeal_datum(a, window_ms=WINDOW, linked_at=0)
                        for a in out})
    assert state is not None
    before = encode_state(state)
    for e in (mine[-1], mine[0]):  # a crash between the table write and the send
        state, again = fold(state, e, window_ms=WINDOW, keep_ms=KEEP)
        assert [appeal_datum(a, window_ms=WINDOW, linked_at=0) for a in again] == \
            [emitted[a.appeal_id] for a in again]
        assert [e.contact_id in a.contact_ids for a in again] == [True]
        assert state is not None and encode_state(state) == before


def _call(cid: str, start: int, customer: str = "cust-1", related: str | None = None,
          resolved: bool = False) -> list[ContactEvent]:
    steps = [("received", 0), ("queued", 1000), ("answered", 61_000)]
    if resolved:
        steps.append(("resolved", 5 * MINUTE_MS))
    steps.append(("closed", 6 * MINUTE_MS))
    return [ContactEvent(f"{cid}-{i}", cid, "mrsk", "tver", Channel.PHONE, EventType(t),
                         start + off, topic="outage", customer_ref=customer or None,
                         related_to=related)
            for i, (t, off) in enumerate(steps)]  # fmt: skip


def test_a_repeat_contact_joins_the_open_appeal_and_fcr_is_lost() -> None:
    state: CustomerContacts | None = None
    updates = []
    for e in _call("a", T0, resolved=True):
        state, out = fold(state, e, window_ms=WINDOW, keep_ms=KEEP)
        updates += out
    assert updates[-1].first_contact_resolution and updates[-1].wait_ms == 60_000
    for e in _call("b", T0 + 2 * DAY_MS):
        state, out = fold(state, e, window_ms=WINDOW, keep_ms=KEEP)
        updates += out
    last = updates[-1]
    assert last.appeal_id == "a" and last.contact_ids == ("a", "b")
    assert last.wait_ms == 120_000 and last.resolved and not last.first_contact_resolution


def test_old_appeals_leave_the_state_whole_and_later_ids_stay() -> None:
    keep = WINDOW + DAY_MS
    state: CustomerContacts | None = None
    for e in [*_call("a", T0), *_call("b", T0 + HOUR_MS), *_call("c", T0 + 30 * DAY_MS),
              *_call("d", T0 + 31 * DAY_MS)]:
        state, out = fold(state, e, window_ms=WINDOW, keep_ms=keep)
    assert state is not None and set(state.events) == {"c", "d"}
    assert set(state.emitted) == {"c"}
    state, out = fold(state, _call("e", T0 + 32 * DAY_MS)[0], window_ms=WINDOW, keep_ms=keep)
    assert [a.appeal_id for a in out] == ["c"] and out[0].contact_ids == ("c", "d", "e")
    assert not expired(state, T0 + 32 * DAY_MS + keep, keep)  # type: ignore[arg-type]
    assert expired(state, T0 + 33 * DAY_MS + keep, keep)  # type: ignore[arg-type]


def test_a_contact_without_a_customer_is_its_own_key_and_appeal() -> None:
    assert appeal_key("mrsk", None, "c9") == "mrsk|#c9"
    assert appeal_key("mrsk", "cust-1", "c9") == "mrsk|cust-1"
    state, out = fold(None, _call("x", T0, customer="")[0], window_ms=WINDOW, keep_ms=KEEP)
    assert [a.contact_ids for a in out] == [("x",)]


def test_the_sink_writes_one_appeal_links_row_per_contact() -> None:
    (a,) = appeals([customer_time(_call("a", T0)), customer_time(_call("b", T0 + HOUR_MS))],
                   WINDOW)
    value = encode("AppealUpdated", appeal_datum(a, window_ms=WINDOW, linked_at=T0 + DAY_MS))
    assert record_rows(value) == [
        ("appeal_links", ("mrsk", "a", "a", T0, WINDOW, T0 + DAY_MS)),
        ("appeal_links", ("mrsk", "b", "a", T0, WINDOW, T0 + DAY_MS)),
    ]


# --- the worker's agents on faust's test context (no broker) -------------------------------

_ids = itertools.count()


def _worker(appeals_on: bool = True) -> tuple[Any, list[OutRecord]]:
    n = next(_ids)
    settings = load_settings(topic_prefix=f"ap{n}.", worker_app_id=f"ap-worker-{n}",
                             worker_judge_by_log=False, worker_appeals=appeals_on)
    worker = create_worker(settings, store="memory://")
    sent: list[OutRecord] = []

    async def record(records: list[OutRecord]) -> None:
        sent.extend(records)

    worker.sender = record
    return worker, sent


def test_the_worker_re_keys_by_customer_and_emits_appeal_updates() -> None:
    worker, sent = _worker()
    first = _call("a", T0)
    # the repeat call names no customer_ref after its first event: the contact's state does
    second = [first_e := dataclasses.replace(_call("b", T0 + HOUR_MS)[0]),
              *[dataclasses.replace(e, customer_ref=None) for e in _call("b", T0 + HOUR_MS)[1:]]]
    assert first_e.customer_ref == "cust-1"

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            for e in [*first, *second]:
                await ctx.put(encode_event(e), key=e.contact_id.encode())
        forwarded = [r for r in sent if r.topic.endswith("appeal-events")]
        assert {r.key for r in forwarded} == {b"mrsk|cust-1"}
        assert len(forwarded) == len(first) + len(second)
        linker = worker.app.agents["appeal-events"]
        async with linker.test_context() as ctx:
            for r in forwarded:
                await ctx.put(r.value, key=r.key)

    asyncio.run(run())
    updates = [decode(r.value) for r in sent if r.topic.endswith(".appeals") and r.value]
    assert updates and all(name == "AppealUpdated" for name, _ in updates)
    last = updates[-1][1]
    assert last["appeal_id"] == "a" and last["contact_ids"] == ["a", "b"]
    assert last["wait_ms"] == 120_000
    linked = [d["linked_at"] for _, d in updates]
    assert linked == sorted(set(linked))  # strictly increasing: no tie in appeal_links
    value = worker.appeal_table.data[b"mrsk|cust-1"]
    assert set(decode_state(value).events) == {"a", "b"}


def test_appeals_off_the_worker_neither_re_keys_nor_links() -> None:
    worker, sent = _worker(appeals_on=False)

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            for e in _call("a", T0):
                await ctx.put(encode_event(e), key=b"a")

    asyncio.run(run())
    assert "appeal-events" not in worker.app.agents
    assert not [r for r in sent if "appeal" in r.topic]


def test_a_contact_naming_no_customer_is_its_own_appeal_emitted_in_place() -> None:
    """Its own single-contact appeal: no appeal-events record, the update straight from the
    contact-events agent, from the contact's state (nothing in the appeal table), and a
    redelivered event re-emits the same update; an event that changes no figure emits none,
    whether the contact is held (the fingerprint kept from its last event) or read from the
    table."""
    worker, sent = _worker()
    call = _call("solo", T0, customer="")
    held = dataclasses.replace(call[-1], event_id="solo-held", type=EventType.CLASSIFIED)
    noted = dataclasses.replace(call[-1], event_id="solo-note", type=EventType.CLASSIFIED)

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            for e in call:
                await ctx.put(encode_event(e), key=b"solo", partition=4)
            await ctx.put(encode_event(call[-1]), key=b"solo", partition=4)  # redelivered
            await ctx.put(encode_event(held), key=b"solo", partition=4)
            cached = worker.processor.cached("solo")
            assert cached is not None and cached.appeal is not None
            assert cached.appeal[0] is cached.state  # kept for the next event
            worker.processor._cache.clear()  # as after a restart: the state from the table
            await ctx.put(encode_event(noted), key=b"solo", partition=4)

    asyncio.run(run())
    assert not [r for r in sent if r.topic.endswith("appeal-events")]
    updates = [decode(r.value)[1] for r in sent if r.topic.endswith(".appeals")]
    state: CustomerContacts | None = None
    folded = []  # what the appeal table's fold emits for the key, event by event
    for e in [*call, call[-1], held, noted]:
        state, out = fold(state, e, window_ms=WINDOW, keep_ms=KEEP)
        assert not (out and e in (held, noted))  # the notes change no figure
        folded += [fingerprint(a) for a in out]
    assert [u["update_id"] for u in updates] == folded
    assert {u["appeal_id"] for u in updates} == {"solo"}
    assert updates[-1] == {**updates[-2], "linked_at": updates[-1]["linked_at"]}
    assert updates[-1]["linked_at"] > updates[-2]["linked_at"]
    assert updates[-1]["wait_ms"] == 60_000 and updates[-1]["contact_ids"] == ["solo"]
    assert updates[-1]["contact_received_at"] == [T0]
    changelog = worker.appeal_table.changelog_topic.get_topic_name()
    assert not [r for r in sent if r.topic == changelog] and not worker.appeal_table.data


def test_the_appeal_state_keeps_its_partition_and_older_values_read_without_one() -> None:
    state, _ = fold(None, _call("a", T0)[0], window_ms=WINDOW, keep_ms=KEEP)
    assert state is not None and decode_state(encode_state(state)).partition is None
    state.partition = 3
    assert decode_state(encode_state(state)).partition == 3
    older = b'{"v":1,"c":[],"e":{},"n":5}'  # a value written before the partition was kept
    assert decode_state(older).partition is None and decode_state(older).newest == 5


def test_retention_tombstones_go_to_the_partition_the_state_names() -> None:
    from streams.appeal_agent import _partition_of, sweep_appeals

    worker, sent = _worker()
    old, _ = fold(None, _call("x", T0)[0], window_ms=WINDOW, keep_ms=KEEP)
    assert old is not None
    hashed = _partition_of(worker, b"mrsk|cust-1")
    old.partition = (hashed + 1) % worker.settings.topic_partitions  # where it was linked
    worker.appeal_table.data[b"mrsk|#x"] = encode_state(old)
    unplaced, _ = fold(None, _call("y", T0)[0], window_ms=WINDOW, keep_ms=KEEP)
    assert unplaced is not None
    worker.appeal_table.data[b"mrsk|cust-1"] = encode_state(unplaced)  # an older value
    worker.ready = True
    asyncio.run(sweep_appeals(worker, T0 + KEEP + DAY_MS))
    tombstones = {r.key: r.partition for r in sent if r.value is None}
    assert tombstones == {b"mrsk|#x": old.partition, b"mrsk|cust-1": hashed}


# --- the board: a repeat contact shows as such ---------------------------------------------

def test_the_board_marks_a_repeat_contact_in_the_feed_and_the_at_risk_list() -> None:
    from services.alerts.live import LiveBoard, Scope
    from tests.unit.test_board_live import T0 as BOARD_T0
    from tests.unit.test_board_live import alert

    board = LiveBoard()
    board.apply("SlaAlertRaised", alert("breached", contact="c"))
    board.apply("SlaAlertRaised", alert("warning", contact="z"))
    state: CustomerContacts | None = None
    for e in [*_call("a", T0), *_call("b", T0 + DAY_MS), *_call("c", T0 + 2 * DAY_MS)]:
        state, out = fold(state, e, window_ms=WINDOW, keep_ms=KEEP)
    assert state is not None
    (appeal,) = appeals([customer_time(evs.values()) for evs in state.events.values()], WINDOW)
    datum = appeal_datum(appeal, window_ms=WINDOW, linked_at=T0, received=received_at(state))
    updates = board.apply("AppealUpdated", datum)
    assert {(u.type, u.data["contact_id"]) for u in updates if u.type != "appeal_group"} == \
        {("alert", "c"), ("risk", "c")}
    note = {"nth": 3, "within_ms": 2 * DAY_MS, "appeal_id": "a", "resolved": False}
    snap = board.snapshot(Scope("mrsk"), BOARD_T0)
    assert [a["repeat"] for a in snap["feed"] if a["contact_id"] == "c"] == [note]
    assert [r["repeat"] for r in snap["risks"] if r["contact_id"] == "c"] == [note]
    assert [a["repeat"] for a in snap["feed"] if a["contact_id"] == "z"] == [None]
    again = board.apply("AppealUpdated", datum)  # nothing new: only its category's figures
    assert [u.type for u in again] == ["appeal_group"]
    # an alert raised after the appeal update carries the note at once
    (fresh, *_) = board.apply("SlaAlertRaised", alert("breached", contact="b",
                                                      milestone="phone.answer"))
    assert fresh.data["repeat"]["nth"] == 2 and fresh.data["repeat"]["within_ms"] == DAY_MS


# --- the notifier: an alert rule on appeals past N contacts or a customer-time threshold ----

def _appeal_record(contacts: int, wait_min: int, appeal_id: str = "a") -> bytes:
    ids = [appeal_id, *[f"{appeal_id}{i}" for i in range(1, contacts)]]
    return encode("AppealUpdated", {
        "update_id": f"u{contacts}{wait_min}", "tenant": "mrsk", "appeal_id": appeal_id,
        "customer_ref": "cust-1", "topic": "outage", "channel": "phone", "region": "tver",
        "office": None, "customer_category": "veteran", "started_at": T0, "contact_ids": ids,
        "contact_received_at": [T0] * contacts, "wait_ms": wait_min * MINUTE_MS,
        "waiting_open": False, "resolved": False, "first_contact_resolution": False,
        "window_ms": WINDOW, "linked_at": T0})  # fmt: skip


def test_an_appeal_rule_fires_once_per_appeal_past_its_threshold(tmp_path: Any) -> None:
    from services.alerts.delivery import Delivered
    from services.alerts.notifier import Ledger, Notifier
    from services.alerts.rules import alert_of, load_rules, matches

    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rules]]\nname = "repeats"\nappeal_contacts = 3\nappeal_wait_min = 30\n'
        'email = ["lead@example"]\n\n'
        '[[rules]]\nname = "breaches"\nemail = ["lead@example"]\n', encoding="utf-8")
    rules = load_rules(path)
    sent: list[tuple[str, str]] = []

    class Recording(Notifier):
        def _send(self, rule: Any, channel: str, alert: Any) -> Delivered:
            sent.append((rule.name, alert.alert_id))
            return Delivered(True, 1, "ok")

    notifier = Recording(rules, Ledger(tmp_path / "ledger.sqlite"))
    assert notifier.handle(_appeal_record(2, 10), T0) == []  # under both thresholds
    assert notifier.handle(_appeal_record(3, 10), T0) == [("repeats", "email", "sent")]
    assert notifier.handle(_appeal_record(4, 10), T0) == []  # once per appeal and rule
    assert notifier.handle(_appeal_record(1, 45, "b"), T0) == [("repeats", "email", "sent")]
    assert sent == [("repeats", "appeal:mrsk:a"), ("repeats", "appeal:mrsk:b")]
    # an SLA rule never matches an appeal, an appeal rule never an SLA breach
    from tests.unit.test_board_live import alert

    breach = alert_of("SlaAlertRaised", alert("breached"))
    assert breach is not None and not matches(rules.rules[0], breach)
    assert matches(rules.rules[1], breach)


@pytest.mark.parametrize("line", ["appeal_contacts = 0", "appeal_contacts = 2.5",
                                  'appeal_wait_min = "long"', "appeal_contacts = true"])
def test_a_bad_appeal_threshold_is_one_clear_line(tmp_path: Any, line: str) -> None:
    from services.alerts.rules import load_rules
    from services.errors import UserError

    path = tmp_path / "rules.toml"
    path.write_text(f'[[rules]]\nname = "r"\n{line}\nemail = ["x@example"]\n', encoding="utf-8")
    with pytest.raises(UserError, match="must be a positive"):
        load_rules(path)


def test_the_board_shows_customer_time_per_category_live() -> None:
    from services.alerts.live import LiveBoard, Scope

    board = LiveBoard()
    now = T0 + HOUR_MS
    vet = [dataclasses.replace(e, customer_ref="cust-2", customer_category=VETERAN)
           for e in [*_call("v1", T0), *_call("v2", T0 + 10 * MINUTE_MS)]]
    updates: list[Any] = []
    for events in (_call("a", T0, resolved=True), vet[:5], vet):
        (appeal,) = appeals_from_events(events, WINDOW)
        updates += board.apply("AppealUpdated", appeal_datum(appeal, window_ms=WINDOW,
                                                             linked_at=now))
    (v2,) = appeals_from_events(vet[5:], WINDOW)  # v2 seen alone first, then absorbed by v1
    board.apply("AppealUpdated", appeal_datum(v2, window_ms=WINDOW, linked_at=now))
    (merged,) = appeals_from_events(vet, WINDOW)
    updates += board.apply("AppealUpdated", appeal_datum(merged, window_ms=WINDOW,
                                                         linked_at=now))
    groups = {g["customer_category"]: g for g in board.snapshot(Scope("mrsk"), now)
              ["appeal_groups"]}  # fmt: skip
    assert {k: (g["appeals"], g["contacts"], g["wait_ms"], g["fcr"])
            for k, g in groups.items()} == {"standard": (1, 1, 60_000, 1),
                                            "veteran": (1, 2, 120_000, 0)}  # fmt: skip
    assert updates[-1].type == "appeal_group" and updates[-1].data["customer_category"] == \
        "veteran"
    assert board.snapshot(Scope("other"), now)["appeal_groups"] == []  # a tenant sees its own
    assert board.snapshot(Scope("mrsk"), T0 + 26 * HOUR_MS)["appeal_groups"] == []  # 24 h


def test_a_redelivered_event_naming_no_customer_still_goes_to_its_customer() -> None:
    """After a restart the processor's cache is empty: the customer comes from the table."""
    worker, sent = _worker()
    first, *rest = _call("a", T0)
    anonymous = dataclasses.replace(rest[0], customer_ref=None)

    async def run() -> None:
        agent = worker.app.agents["contact-events"]
        async with agent.test_context() as ctx:
            await ctx.put(encode_event(first), key=b"a")
            await ctx.put(encode_event(anonymous), key=b"a")
            worker.processor._cache.clear()  # as after a restart
            await ctx.put(encode_event(anonymous), key=b"a")  # redelivered

    asyncio.run(run())
    keys = [r.key for r in sent if r.topic.endswith("appeal-events")]
    assert keys == [b"mrsk|cust-1"] * 3
