"""Appeal linking, customer time and first-contact resolution (streams/sla/appeals.py):
table-driven cases with hand-computed figures, then Hypothesis properties (arrival order and
duplicates never change the result; waits are never negative; FCR implies one contact)."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import ContactEvent, EventType
from streams.sla.appeal_stream import CustomerContacts, alone, fingerprint, fold
from streams.sla.appeals import (
    appeals,
    appeals_from_events,
    customer_time,
    link,
    summarise,
)
from streams.sla.state import ContactState
from streams.sla.state import fold as fold_contact
from tests.fixtures.sla import MIN, D, H, S, at, ev

T0 = at("2026-11-02T08:00:00Z")
WINDOW = 7 * D


def contact(
    cid: str, channel: str, steps: list[tuple[str, int]], *, customer: str | None = "cust-1",
    topic: str | None = "outage-42", related_to: str | None = None, region: str = "tver",
    category: str = "standard",
) -> list[ContactEvent]:
    """A contact's events, each carrying the customer/topic/related_to fields."""
    out = []
    for etype, offset in steps:
        e = ev(etype, T0 + offset, contact=cid, channel=channel, region=region, category=category)
        out.append(dataclasses.replace(e, customer_ref=customer, topic=topic,
                                       related_to=related_to))  # fmt: skip
    return out


CALL_ANSWERED = [("received", 0), ("queued", 5 * S), ("answered", 65 * S), ("closed", 5 * MIN)]

# (name, events, expected wait ms, waiting_open, resolved)
TIME_CASES = [
    ("phone answered after 60 s", CALL_ANSWERED, 60 * S, False, False),
    ("abandoned after 90 s", [("received", 0), ("queued", 0), ("abandoned", 90 * S),
                              ("closed", 90 * S)], 90 * S, False, False),
    ("transfer: two queue waits", [("received", 0), ("queued", 0), ("answered", 30 * S),
                                   ("queued", 2 * MIN), ("answered", 3 * MIN),
                                   ("resolved", 4 * MIN)], 90 * S, False, True),
    ("queued twice without answer counts once", [("received", 0), ("queued", 0),
                                                 ("queued", 10 * S), ("answered", 40 * S)],
     40 * S, False, False),
    ("call-back adds its wait", [("received", 0), ("queued", 0), ("answered", 20 * S),
                                 ("callback_requested", 2 * MIN),
                                 ("callback_completed", 2 * MIN + 3 * H)],
     20 * S + 3 * H, False, False),
    ("still queued: nothing counted, open", [("received", 0), ("queued", 0)], 0, True, False),
    ("unanswered call-back is open", [("received", 0), ("queued", 0), ("answered", 10 * S),
                                      ("callback_requested", MIN)], 10 * S, True, False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "steps", "wait", "open_", "resolved"), TIME_CASES,
                         ids=[c[0] for c in TIME_CASES])  # fmt: skip
def test_customer_time_of_a_call(
    name: str, steps: list[tuple[str, int]], wait: int, open_: bool, resolved: bool
) -> None:
    t = customer_time(contact("c1", "phone", steps))
    assert (t.wait_ms, t.waiting_open, t.resolved_at is not None) == (wait, open_, resolved)


@pytest.mark.parametrize(("channel", "steps", "wait", "open_"), [
    ("email", [("received", 0), ("registered", H), ("responded", 2 * D), ("closed", 3 * D)],
     2 * D, False),
    ("web", [("received", 0), ("registered", H)], 0, True),
    ("post", [("received", 0), ("closed", D)], 0, False),
    ("in_person", [("received", 0), ("queued", 0), ("answered", 25 * MIN)], 25 * MIN, False),
])  # fmt: skip
def test_customer_time_by_channel(
    channel: str, steps: list[tuple[str, int]], wait: int, open_: bool
) -> None:
    t = customer_time(contact("c1", channel, steps))
    assert (t.wait_ms, t.waiting_open) == (wait, open_)


def _outage_story() -> list[ContactEvent]:
    """Two calls and a letter about one outage; the second call names the first."""
    return [
        *contact("call-1", "phone", [("received", 0), ("queued", 0), ("abandoned", 2 * MIN),
                                     ("closed", 2 * MIN)]),
        *contact("call-2", "phone", [("received", H), ("queued", H), ("answered", H + 45 * S),
                                     ("closed", H + 5 * MIN)], related_to="call-1"),
        *contact("mail-1", "email", [("received", D), ("registered", D + H),
                                     ("responded", 3 * D), ("resolved", 3 * D),
                                     ("closed", 3 * D)]),
    ]  # fmt: skip


def test_two_calls_and_a_letter_are_one_appeal_without_fcr() -> None:
    (appeal,) = appeals_from_events(_outage_story(), WINDOW)
    assert appeal.appeal_id == "call-1"
    assert appeal.contact_ids == ("call-1", "call-2", "mail-1")
    assert appeal.wait_ms == 2 * MIN + 45 * S + 2 * D
    assert appeal.resolved and not appeal.first_contact_resolution
    assert (appeal.channel, appeal.region) == ("phone", "tver")


# (name, contacts as (id, customer, topic, related_to, received offset, resolved?), window,
#  expected appeals as sorted tuples of contact ids)
LINK_CASES = [
    ("same customer and topic within the window", [
        ("a", "u1", "t", None, 0, True), ("b", "u1", "t", None, 3 * D, True)],
     WINDOW, [("a", "b")]),
    ("repeat after the window is a new appeal", [
        ("a", "u1", "t", None, 0, True), ("b", "u1", "t", None, 9 * D, True)],
     WINDOW, [("a",), ("b",)]),
    ("window chains through the middle contact", [
        ("a", "u1", "t", None, 0, False), ("b", "u1", "t", None, 6 * D, False),
        ("c", "u1", "t", None, 12 * D, False)], WINDOW, [("a", "b", "c")]),
    ("other topic is another matter", [
        ("a", "u1", "t", None, 0, True), ("b", "u1", "meter", None, D, True)],
     WINDOW, [("a",), ("b",)]),
    ("other customer is another appeal", [
        ("a", "u1", "t", None, 0, True), ("b", "u2", "t", None, D, True)],
     WINDOW, [("a",), ("b",)]),
    ("related_to links across topics and windows", [
        ("a", "u1", "t", None, 0, True), ("b", "u1", "meter", "a", 30 * D, True)],
     WINDOW, [("a", "b")]),
    ("related_to to an unknown contact is ignored", [
        ("a", "u1", "t", "zz", 0, True)], WINDOW, [("a",)]),
    ("anonymous contacts link only by related_to", [
        ("a", None, "t", None, 0, True), ("b", None, "t", None, D, True),
        ("c", None, None, "b", 2 * D, True)], WINDOW, [("a",), ("b", "c")]),
    ("two related_to chains joined by the customer key", [
        ("a", "u1", "t", None, 0, True), ("b", "u9", "x", "a", D, True),
        ("c", "u1", "t", None, 2 * D, True), ("d", "u8", "y", "c", 3 * D, True)],
     WINDOW, [("a", "b", "c", "d")]),
]  # fmt: skip


def _case_contacts(specs: list[tuple]) -> list[ContactEvent]:  # type: ignore[type-arg]
    events: list[ContactEvent] = []
    for cid, cust, topic, rel, offset, resolved in specs:
        steps = [("received", offset), ("queued", offset), ("answered", offset + 30 * S)]
        steps += [("resolved", offset + MIN)] if resolved else []
        events += contact(cid, "phone", steps, customer=cust, topic=topic, related_to=rel)
    return events


@pytest.mark.parametrize(("name", "specs", "window", "want"), LINK_CASES,
                         ids=[c[0] for c in LINK_CASES])  # fmt: skip
def test_linking(name: str, specs: list[tuple], window: int, want: list[tuple[str, ...]]) -> None:  # type: ignore[type-arg]
    got = sorted(a.contact_ids for a in appeals_from_events(_case_contacts(specs), window))
    assert got == sorted(want)


def test_fcr_only_for_a_single_resolved_contact() -> None:
    events = _case_contacts([("a", "u1", "t", None, 0, True), ("b", "u2", "t", None, 0, False),
                             ("c", "u3", "t", None, 0, True), ("d", "u3", "t", None, 2 * D, True)])
    fcr = {a.appeal_id: a.first_contact_resolution for a in appeals_from_events(events, WINDOW)}
    assert fcr == {"a": True, "b": False, "c": False}


def test_summary_by_category() -> None:
    events = [
        *contact("v1", "phone", CALL_ANSWERED, customer="u1", category="veteran"),
        *contact("s1", "phone", CALL_ANSWERED[:3] + [("resolved", MIN)], customer="u2"),
        *contact("s2", "phone", CALL_ANSWERED, customer="u2", related_to="s1"),
    ]
    rows = summarise(appeals_from_events(events, WINDOW), ["customer_category"])
    assert rows == [
        {"customer_category": "standard", "appeals": 1, "contacts": 2, "contacts_per_appeal": 2.0,
         "repeat_appeals": 1, "wait_ms": 120 * S, "avg_wait_ms": 120 * S, "max_wait_ms": 120 * S,
         "resolved": 1, "fcr": 0, "fcr_rate": 0.0},
        {"customer_category": "veteran", "appeals": 1, "contacts": 1, "contacts_per_appeal": 1.0,
         "repeat_appeals": 0, "wait_ms": 60 * S, "avg_wait_ms": 60 * S, "max_wait_ms": 60 * S,
         "resolved": 0, "fcr": 0, "fcr_rate": 0.0},
    ]  # fmt: skip
    with pytest.raises(ValueError, match="cannot group"):
        summarise([], ["agent"])


# --- properties --------------------------------------------------------------------------------

TYPES = [EventType.RECEIVED, EventType.QUEUED, EventType.ANSWERED, EventType.ABANDONED,
         EventType.CALLBACK_REQUESTED, EventType.CALLBACK_COMPLETED, EventType.RESPONDED,
         EventType.RESOLVED, EventType.CLOSED]  # fmt: skip


@st.composite
def contact_sets(draw: st.DrawFn) -> list[ContactEvent]:
    n = draw(st.integers(1, 7))
    events: list[ContactEvent] = []
    for i in range(n):
        cid = f"c{i}"
        channel = draw(st.sampled_from(["phone", "email", "in_person", "web"]))
        start = draw(st.integers(0, 20)) * D // 2
        rel = draw(st.one_of(st.none(), st.sampled_from([f"c{j}" for j in range(n)] + ["x"])))
        steps = [("received", start)] + [
            (t.value, start + draw(st.integers(0, 3 * D)))
            for t in draw(st.lists(st.sampled_from(TYPES), max_size=6))
        ]
        events += contact(cid, channel, steps, customer=draw(st.sampled_from(["u1", "u2", None])),
                          topic=draw(st.sampled_from(["t1", "t2"])), related_to=rel)
    return events


@settings(max_examples=150, deadline=None)
@given(contact_sets(), st.randoms(use_true_random=False), st.sampled_from([0, D, WINDOW]))
def test_arrival_order_and_duplicates_do_not_matter(
    events: list[ContactEvent], rnd: random.Random, window: int
) -> None:
    shuffled = events + rnd.sample(events, k=len(events) // 2)  # redelivered copies
    rnd.shuffle(shuffled)
    assert appeals_from_events(shuffled, window) == appeals_from_events(events, window)


@settings(max_examples=150, deadline=None)
@given(contact_sets(), st.sampled_from([0, D, WINDOW]))
def test_appeals_partition_the_contacts_and_sum_their_waits(
    events: list[ContactEvent], window: int
) -> None:
    times = {e.contact_id: customer_time([x for x in events if x.contact_id == e.contact_id])
             for e in events}  # fmt: skip
    result = appeals(list(times.values()), window)
    ids = [cid for a in result for cid in a.contact_ids]
    assert sorted(ids) == sorted(times)
    for a in result:
        assert a.wait_ms == sum(times[c].wait_ms for c in a.contact_ids) >= 0
        assert a.appeal_id == min(a.contact_ids, key=lambda c: (times[c].received_at, c))
        assert a.first_contact_resolution <= (a.contacts == 1 and a.resolved)
        for cid in a.contact_ids:  # a related_to inside the set always shares the appeal
            rel = times[cid].related_to
            if rel in times:
                assert rel in a.contact_ids


@settings(max_examples=100, deadline=None)
@given(contact_sets())
def test_a_wider_window_never_splits_an_appeal(events: list[ContactEvent]) -> None:
    narrow = link([customer_time([e]) for e in events if e.type is EventType.RECEIVED], D)
    wide = link([customer_time([e]) for e in events if e.type is EventType.RECEIVED], WINDOW)
    for a in narrow:
        for b in narrow:
            if narrow[a] == narrow[b]:
                assert wide[a] == wide[b]


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        link([], -1)

    with pytest.raises(ValueError):
        appeals([customer_time([ev("received", T0)])], -1)  # the one-contact path too


@settings(max_examples=150, deadline=None)
@given(contact_sets(), st.sampled_from([0, D, WINDOW]))
def test_a_contact_alone_is_the_appeal_the_linking_gives_it(
    events: list[ContactEvent], window: int
) -> None:
    """appeals() of one contact takes a short path; it must give what the union-find gives
    (here beside a contact of another tenant, which can never join it)."""
    stranger = customer_time([dataclasses.replace(e, tenant="other") for e in events[:1]])
    for cid in {e.contact_id for e in events}:
        alone = customer_time([e for e in events if e.contact_id == cid])
        linked = [a for a in appeals([alone, stranger], window) if a.tenant == alone.tenant]
        assert appeals([alone], window) == linked


@settings(max_examples=150, deadline=None)
@given(contact_sets(), st.randoms(use_true_random=False), st.sampled_from([0, D, WINDOW]))
def test_a_contact_alone_emits_from_its_state_what_the_appeal_fold_emits(
    events: list[ContactEvent], rnd: random.Random, window: int
) -> None:
    """The worker emits a customer-less contact's appeal from the contact's own state
    (appeal_stream.alone) instead of an appeal table value (appeal_stream.fold): for any
    arrival order and redelivered copies, the same appeals after the same events; and the same
    again when given the fingerprint it returned for the previous event (what the worker keeps
    in the contact's entry)."""
    cid = events[0].contact_id
    mine = [e for e in events if e.contact_id == cid]
    arrivals = mine + rnd.sample(mine, k=len(mine) // 2)
    rnd.shuffle(arrivals)
    table: CustomerContacts | None = None
    contact: ContactState | None = None
    kept: str | None = None  # the fingerprint the worker keeps from the previous event
    for e in arrivals:
        table, want = fold(table, e, window_ms=window, keep_ms=window + 35 * D)
        after = fold_contact(contact, e)
        before = None if contact is None else contact.events
        appeal, update_id, emit = alone(before, after.events, e.event_id, window_ms=window)
        assert ([appeal] if emit else []) == want
        assert update_id == fingerprint(appeal)
        assert alone(before, after.events, e.event_id, window_ms=window,
                     before_print=kept) == (appeal, update_id, emit)
        contact, kept = after, update_id
