"""A fast path for ``schemas.events.parse_event`` on the common, well-formed line.

Replay spends most of its time turning JSON objects into ContactEvents. This function accepts
only what ``parse_event`` would accept and builds the same ContactEvent, with dictionary lookups
instead of enum calls and a per-minute cache for ``...T10:15:02.123Z`` timestamps. Whenever the
object is anything but plainly valid it returns None and the caller falls back to
``parse_event``, which produces the real error message (tests/unit/test_sla_fastparse.py checks
the two agree).
"""

from __future__ import annotations

from typing import Any

from schemas.events import (
    MAX_STRING_LENGTH,
    Channel,
    ContactEvent,
    CustomerCategory,
    EventType,
    Kind,
    parse_timestamp,
)
from streams.sla.records import positional_constructor

_CHANNELS = {m.value: m for m in Channel}
_TYPES = {m.value: m for m in EventType}
_KINDS = {m.value: m for m in Kind}
_CATEGORIES = {m.value: m for m in CustomerCategory}
_MINUTES: dict[str, int] = {}
_new_event = positional_constructor(ContactEvent)
_MAX = MAX_STRING_LENGTH


def _instant(text: Any) -> int | None:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` -> epoch ms via a per-minute cache; None for other shapes.

    The minute prefix is checked (and parsed by ``parse_timestamp``) once, when it enters the
    cache; per line only the seconds and milliseconds digits are read, with one ``int()``.
    """
    if type(text) is not str or len(text) != 24 or text[23] != "Z" or text[19] != ".":
        return None
    digits = text[17:19] + text[20:23]  # SSmmm: seconds * 1000 + millis as one number
    if not (digits.isascii() and digits.isdigit() and text[16] == ":" and text[17] < "6"):
        return None
    base = _MINUTES.get(text[:16])
    if base is None:
        base = _minute(text[:16])
        if base is None:
            return None
    return base + int(digits)


def _minute(prefix: str) -> int | None:
    """``YYYY-MM-DDTHH:MM`` -> epoch ms of that minute, cached; None if it is not one."""
    if prefix[4] != "-" or prefix[7] != "-" or prefix[10] != "T" or prefix[13] != ":":
        return None
    try:
        base = parse_timestamp(prefix + ":00.000Z")
    except ValueError:
        return None
    if len(_MINUTES) > 1_000_000:
        _MINUTES.clear()
    _MINUTES[prefix] = base
    return base


def fast_event(obj: Any) -> ContactEvent | None:
    """The ContactEvent ``parse_event(obj)`` would return, or None to defer to it."""
    if type(obj) is not dict:
        return None
    get = obj.get
    event_id, contact_id, tenant, region = (
        get("event_id"), get("contact_id"), get("tenant"), get("region"))
    if not (type(event_id) is str and type(contact_id) is str and type(tenant) is str
            and type(region) is str and event_id and contact_id and tenant and region
            and len(event_id) <= _MAX and len(contact_id) <= _MAX and len(tenant) <= _MAX
            and len(region) <= _MAX):
        return None
    office, agent, queue, topic, customer_ref, related_to = (
        get("office"), get("agent"), get("queue"), get("topic"), get("customer_ref"),
        get("related_to"))
    for value in (office, agent, queue, topic, customer_ref, related_to):
        if value is not None and (type(value) is not str or len(value) > _MAX):
            return None
    try:
        channel = _CHANNELS[obj["channel"]]
        etype = _TYPES[obj["type"]]
        kind = _KINDS[get("kind") or "inquiry"]
        category = _CATEGORIES[get("customer_category") or "standard"]
    except (KeyError, TypeError):
        return None
    occurred_at = _instant(get("occurred_at"))
    if occurred_at is None:
        return None
    attributes = get("attributes")
    if not attributes:
        attributes = {}
    elif type(attributes) is not dict or not all(
        type(k) is str and type(v) is str for k, v in attributes.items()
    ):
        return None
    # positional, without the dataclass __init__ (records.py); order pinned by test_sla_fastparse
    return _new_event(
        event_id, contact_id, tenant, region, channel, etype, occurred_at, kind, category,
        office, agent, queue, topic, customer_ref, related_to, dict(attributes),
    )
