"""Asterisk queue events (app_queue via AMI, as forwarded by AMI/ARI bridges) -> events.

QueueCallerJoin -> queued, AgentConnect -> answered, QueueCallerAbandon -> abandoned; other
AMI events are ignored (bridges often forward everything). The call is the contact: its
Linkedid (falling back to Uniqueid) is the contact id. The caller's number and name go into
``customer`` and so are pseudonymized; the agent is identified by interface, not by name.
Bridges post a JSON object, a JSON array, or raw AMI text (``Key: Value`` lines, events
separated by a blank line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.events import format_timestamp
from services.ingest.adapters import AdapterError

TYPES = {
    "QueueCallerJoin": "queued",
    "AgentConnect": "answered",
    "QueueCallerAbandon": "abandoned",
}
_UNKNOWN = {"", "<unknown>", "unknown", "anonymous"}


def parse_ami_text(text: str) -> list[dict[str, str]]:
    """Raw AMI blocks -> dicts. Keys keep AMI's capitalization."""
    events: list[dict[str, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            key, sep, value = line.partition(":")
            if sep and key.strip():
                fields[key.strip()] = value.strip()
        if fields:
            events.append(fields)
    return events


def _occurred_at(ami: Mapping[str, Any], index: int, now_ms: int) -> str:
    """AMI's Timestamp (epoch seconds with microseconds, timestampevents=yes), else now."""
    stamp = ami.get("Timestamp")
    if stamp in (None, ""):
        return format_timestamp(now_ms)
    try:
        return format_timestamp(int(float(stamp) * 1000))
    except (TypeError, ValueError):
        raise AdapterError(index, "Timestamp", f"not epoch seconds: {stamp!r}") from None


def map_event(
    ami: Mapping[str, Any], index: int, *, region: str, kind: str | None, now_ms: int
) -> dict[str, Any] | None:
    """One AMI event -> canonical event JSON, or None for an event we do not track."""
    name = ami.get("Event")
    if not isinstance(name, str):
        raise AdapterError(index, "Event", "missing: not an AMI event")
    if name not in TYPES:
        return None
    call = ami.get("Linkedid") or ami.get("Uniqueid")
    uniqueid = ami.get("Uniqueid") or call
    if not isinstance(call, str) or not call:
        raise AdapterError(index, "Uniqueid", "missing: cannot tell which call this is")
    queue = ami.get("Queue")
    if not isinstance(queue, str) or not queue:
        raise AdapterError(index, "Queue", "missing")
    out: dict[str, Any] = {
        "event_id": f"ast-{uniqueid}-{name}-{queue}",
        "contact_id": f"ast-{call}",
        "region": region,
        "channel": "phone",
        "type": TYPES[name],
        "occurred_at": _occurred_at(ami, index, now_ms),
        "queue": queue,
    }
    if kind:
        out["kind"] = kind
    customer = {
        field: str(ami[key])
        for field, key in (("phone", "CallerIDNum"), ("name", "CallerIDName"))
        if str(ami.get(key, "")).strip().lower() not in _UNKNOWN
    }
    if customer:
        out["customer"] = customer
    attributes = {
        attr: str(ami[key])
        for attr, key in (
            ("position", "Position"),
            ("original_position", "OriginalPosition"),
            ("hold_time_s", "HoldTime"),
            ("ring_time_s", "RingTime"),
            ("asterisk_uniqueid", "Uniqueid"),
        )
        if ami.get(key) not in (None, "")
    }
    if attributes:
        out["attributes"] = attributes
    if name == "AgentConnect":
        interface = ami.get("Interface") or ami.get("DestChannel")
        if interface:  # PJSIP/201, or the channel PJSIP/201-0000001a without its sequence
            out["agent"] = re.sub(r"-[0-9a-f]{8}$", "", str(interface))
    return out


def map_payload(
    payload: object, *, region: str, kind: str | None, now_ms: int
) -> tuple[list[dict[str, Any]], int]:
    """A posted payload -> (canonical events, number of ignored AMI events)."""
    if isinstance(payload, str):
        items: list[Any] = parse_ami_text(payload)
    elif isinstance(payload, Mapping):
        items = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        raise AdapterError(0, "$", "expected an AMI event object, an array of them, or AMI text")
    if not items:
        raise AdapterError(0, "$", "no AMI events in the body")
    events, ignored = [], 0
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise AdapterError(index, "$", "an AMI event must be an object of fields")
        mapped = map_event(item, index, region=region, kind=kind, now_ms=now_ms)
        if mapped is None:
            ignored += 1
        else:
            events.append(mapped)
    return events, ignored
