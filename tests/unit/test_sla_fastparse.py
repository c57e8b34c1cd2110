"""The replay's fast parser agrees with schemas.events.parse_event, or defers to it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import (
    Channel,
    CustomerCategory,
    EventType,
    EventValidationError,
    Kind,
    event_to_json,
    format_timestamp,
    parse_event,
)
from streams.sla.fastparse import fast_event
from tests.fixtures.sla import ev

texts = st.text(min_size=1, max_size=12)
canonical = st.builds(
    lambda i, c, t, ch, ty, at, k, cat, office, attrs: {
        "event_id": i, "contact_id": c, "tenant": t, "region": "kursk", "channel": ch.value,
        "type": ty.value, "occurred_at": format_timestamp(at), "kind": k.value,
        "customer_category": cat.value, **({"office": office} if office else {}),
        **({"attributes": attrs} if attrs else {}),
    },
    texts, texts, texts, st.sampled_from(Channel), st.sampled_from(EventType),
    st.integers(0, 4_102_444_800_000), st.sampled_from(Kind), st.sampled_from(CustomerCategory),
    st.none() | texts, st.dictionaries(texts, texts, max_size=2),
)
junk = st.none() | st.integers() | st.text(max_size=30) | st.lists(st.integers(), max_size=2)
FIELDS = ["event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at",
          "kind", "customer_category", "office", "agent", "attributes"]


def _reference(obj: Any) -> Any:
    try:
        return parse_event(obj)
    except EventValidationError:
        return "invalid"


@settings(max_examples=300, deadline=None)
@given(canonical)
def test_canonical_objects_take_the_fast_path(obj: dict[str, Any]) -> None:
    fast = fast_event(obj)
    assert fast is not None
    assert fast == parse_event(obj)


@settings(max_examples=400, deadline=None)
@given(canonical, st.sampled_from(FIELDS), junk)
def test_damaged_objects_never_disagree(obj: dict[str, Any], name: str, value: Any) -> None:
    damaged = {**obj, name: value}
    fast = fast_event(damaged)
    if fast is not None:
        assert fast == _reference(damaged)


def test_other_timestamp_shapes_defer_to_parse_event() -> None:
    obj = event_to_json(ev("queued", 0))
    for text in ("2026-01-12T13:00:00+03:00", "2026-01-12T10:00:00Z", "2026-01-12T10:00:60.000Z",
                 "2026-13-12T10:00:00.000Z", "2026-01-12 10:00:00.000Z"):
        assert fast_event({**obj, "occurred_at": text}) is None
    assert fast_event({**obj, "occurred_at": "2026-01-12T10:00:59.999Z"}) is not None
