"""streams.sla.versions: which version judges a contact, and version documents.

Properties: selection by instant agrees with a brute-force reading of the rule whatever order
the versions were read in; a contact's outcomes under versioned rules do not depend on the
order or duplication of its events; a clock running across a change keeps its version.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.events import Channel, EventType
from streams.sla.clock import evaluate
from streams.sla.policy import PolicyError, load_policy
from streams.sla.replay import evaluate_all
from streams.sla.state import build_state, fold
from streams.sla.versions import (
    Rules,
    book_of,
    load_versions,
    parse_version,
    published_record,
    select,
    version_at,
    version_document,
    versions_of_record,
)
from tests.fixtures.sla import MIN, S, at, ev

T0 = at("2026-03-01T00:00:00+03:00")
TENANT = "mrsk-center"  # the tenant of tests.fixtures.sla.ev
STRICT = {"name": "strict-20s", "milestones": [
    {"id": "phone.answer", "channels": ["phone"], "start": "queued", "stop": ["answered"],
     "abandon_rule": True, "target": "20s", "warnings": [0.5]}]}
FALLBACK = load_policy("rao-ues-2007")


def version(n: int, effective_from: int, default: object = None, overrides: object = (),
            tenant: str = TENANT) -> object:
    doc = {"effective_from": effective_from, "default": default or {"preset": "minenergo-186"},
           "overrides": list(overrides)}
    return parse_version(doc, tenant, n, f"v{n}")


def test_the_version_in_force_is_the_latest_at_or_before_the_instant() -> None:
    book = book_of([version(1, T0), version(2, T0 + 10 * MIN, STRICT)])
    assert version_at(book, TENANT, T0 - 1) is None
    assert version_at(book, TENANT, T0).version == 1
    assert version_at(book, TENANT, T0 + 10 * MIN - 1).version == 1
    assert version_at(book, TENANT, T0 + 10 * MIN).version == 2
    assert select(book, FALLBACK, TENANT, "kursk", None, T0 - 1) is FALLBACK
    assert select(book, FALLBACK, "other", "kursk", None, T0 + 11 * MIN) is FALLBACK
    assert select(book, FALLBACK, TENANT, "kursk", None, T0 + 11 * MIN).name == "strict-20s"


def test_the_most_specific_override_wins() -> None:
    own = {"name": "own", "milestones": STRICT["milestones"]}
    v = version(1, T0, overrides=[
        {"region": "77", **own, "name": "region"},
        {"queue": "vip", **own, "name": "queue"},
        {"region": "77", "queue": "vip", **own, "name": "both"},
    ])
    assert v.policy_for("kursk", None).name == "minenergo-186"
    assert v.policy_for("77", None).name == "region"
    assert v.policy_for("kursk", "vip").name == "queue"
    assert v.policy_for("77", "vip").name == "both"
    assert {p.version for p in (v.default, *(o.policy for o in v.overrides))} == {1}


instants = st.integers(0, 10_000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(instants, st.booleans()), min_size=1, max_size=6),
       st.lists(instants, min_size=1, max_size=10), st.randoms())
def test_selection_by_instant_is_the_rule_in_any_reading_order(
    raw: list[tuple[int, bool]], probes: list[int], rnd: random.Random,
) -> None:
    versions = [version(i + 1, T0 + off, {**STRICT, "name": f"p{i + 1}"} if strict else None)
                for i, (off, strict) in enumerate(raw)]
    shuffled = versions + versions[: len(versions) // 2]  # re-read records too
    rnd.shuffle(shuffled)
    book = book_of(shuffled)
    for probe in probes:
        t = T0 + probe
        in_force = [v for v in versions if v.effective_from <= t]
        want = max(in_force, key=lambda v: (v.effective_from, v.version), default=None)
        got = version_at(book, TENANT, t)
        assert (got and got.version) == (want and want.version)


@settings(max_examples=150, deadline=None)
@given(st.integers(-5, 5), st.lists(st.integers(1, 300), min_size=1, max_size=5), st.randoms())
def test_arrival_order_and_duplicates_never_change_the_version_or_the_outcome(
    change_at_s: int, later_s: list[int], rnd: random.Random,
) -> None:
    rules = Rules(FALLBACK, book_of([version(1, T0 + change_at_s * S,
                                             {**STRICT, "name": "strict"})]))
    events = [ev(EventType.QUEUED, T0, eid="q")] + [
        ev(EventType.ANSWERED if i == 0 else EventType.CLOSED, T0 + s * S, eid=f"e{i}")
        for i, s in enumerate(later_s)]
    reference = evaluate_all({"c1": build_state(events)}, rules, T0 + 400 * S)
    delivered = events + events[: len(events) // 2]
    rnd.shuffle(delivered)
    state = None
    for e in delivered:
        state = fold(state, e)
    assert state is not None
    assert evaluate_all({"c1": state}, rules, T0 + 400 * S) == reference
    # the first event is at T0: in force from T0 or before -> version 1, else the default
    assert {o.policy_version for o in reference} == ({1} if change_at_s <= 0 else {0})


def test_a_clock_running_across_a_change_keeps_the_version_it_started_under() -> None:
    rules = Rules(FALLBACK, book_of([version(1, T0 + 10 * S, {**STRICT, "name": "strict"})]))
    call = [ev(EventType.QUEUED, T0), ev(EventType.ANSWERED, T0 + 30 * S)]  # starts before
    later = [ev(EventType.QUEUED, T0 + 20 * S, contact="c2"),
             ev(EventType.ANSWERED, T0 + 50 * S, contact="c2")]
    before, after = (evaluate(build_state(c), rules.for_state(build_state(c)), T0 + MIN)
                     for c in (call, later))
    assert [(o.status.value, o.target_ms, o.policy_version) for o in before] == \
        [("met", 40_000, 0)]
    assert [(o.status.value, o.target_ms, o.policy_version, o.policy) for o in after] == \
        [("breached", 20_000, 1, "strict")]


def test_a_late_earlier_event_moves_the_contact_to_the_version_of_its_new_first_event() -> None:
    rules = Rules(FALLBACK, book_of([version(1, T0, {**STRICT, "name": "strict"})]))
    state = fold(None, ev(EventType.QUEUED, T0 + S, channel=Channel.PHONE))
    assert rules.for_state(state).version == 1
    state = fold(state, ev(EventType.RECEIVED, T0 - S))  # read late, happened first
    assert rules.for_state(state) is FALLBACK


@pytest.mark.parametrize(("doc", "message"), [
    ({"default": {"preset": "minenergo-186"}}, "missing required key 'effective_from'"),
    ({"effective_from": T0}, "missing required key 'default'"),
    ({"effective_from": "yesterday", "default": {"preset": "minenergo-186"}}, "effective_from"),
    ({"effective_from": T0, "default": {"preset": "nope"}}, "unknown preset 'nope'"),
    ({"effective_from": T0, "default": {"preset": "minenergo-186", "name": "x"}},
     "a preset stands alone"),
    ({"effective_from": T0, "default": {"name": "x", "milestones": [{"id": "a"}]}},
     "missing required key 'start'"),
    ({"effective_from": T0, "default": {"preset": "minenergo-186"},
      "overrides": [{"preset": "rao-ues-2007"}]}, "overrides[0]: name a region, a queue or both"),
    ({"effective_from": T0, "default": {"preset": "minenergo-186"},
      "overrides": [{"region": "77", "preset": "rao-ues-2007"},
                    {"region": "77", "preset": "minenergo-186"}]}, "a second override"),
    ({"effective_from": T0, "default": {"preset": "minenergo-186"}, "colour": 1},
     "unknown keys ['colour']"),
    ({"effective_from": T0, "default": {"name": "x", "milestones": [
        {"id": "a", "start": "queued", "stop": ["answered"], "target": "40 parsecs"}]}},
     "default: milestones[0] (a).target"),
])
def test_a_bad_document_names_the_problem(doc: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_version(doc, TENANT, 1, "body")
    assert message in str(caught.value)
    assert str(caught.value).startswith("body")


def test_a_version_survives_its_record_and_its_document() -> None:
    v = version(3, T0, overrides=[{"region": "77", **STRICT}, {"queue": "vip",
                                                                "preset": "rao-ues-2007"}])
    v = dataclasses.replace(v, published_by="key-1", published_at=T0 - MIN, comment="why")
    again = parse_version(version_document(v), TENANT, 3, "again", "key-1", T0 - MIN)
    assert again == v
    name, datum = codec.decode(codec.encode("PolicyVersionPublished", published_record([v])))
    assert name == "PolicyVersionPublished"
    assert versions_of_record(datum) == [v]


def test_a_preset_is_kept_as_its_rules_not_its_name() -> None:
    v = version(1, T0)
    doc = version_document(v)["default"]
    assert doc["name"] == "minenergo-186" and "preset" not in doc
    assert len(doc["milestones"]) == len(load_policy("minenergo-186").milestones)


def test_a_versions_file_numbers_each_tenants_versions_in_order(tmp_path: Path) -> None:
    path = tmp_path / "versions.toml"
    path.write_text("""
[[versions]]
tenant = "a"
effective_from = 2026-01-01T00:00:00+03:00
default = { preset = "rao-ues-2007" }

[[versions]]
tenant = "b"
effective_from = "2026-01-01T00:00:00Z"
default = { preset = "minenergo-186" }

[[versions]]
tenant = "a"
effective_from = 2026-03-01T00:00:00+03:00
default = { preset = "minenergo-186" }
""", encoding="utf-8")
    book = load_versions(str(path))
    assert [(v.version, v.default.name) for v in book["a"]] == \
        [(1, "rao-ues-2007"), (2, "minenergo-186")]
    assert [v.version for v in book["b"]] == [1]
    assert book["a"][1].effective_from == T0
    path.write_text("[[versions]]\neffective_from = 1\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"versions\[0\]: needs tenant"):
        load_versions(str(path))


def test_the_versions_file_in_docs_sla_md_loads_and_selects_as_it_says(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "sla.md").read_text(encoding="utf-8")
    start = text.index("# a versions file")
    path = tmp_path / "versions.toml"
    path.write_text(text[start:text.index("```", start)], encoding="utf-8")
    book = load_versions(str(path))
    march = at("2026-03-01T00:00:00+03:00")
    assert select(book, FALLBACK, "mrsk-center", "77", None, march).name == "moscow-20s"
    assert select(book, FALLBACK, "mrsk-center", "77", None, march - 1).name == "minenergo-186"
    assert select(book, FALLBACK, "mrsk-center", "kursk", None, march).name == "minenergo-186"
