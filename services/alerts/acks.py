"""Shift-lead actions on alerts as events: AlertAcknowledged and FollowUpMarked records.

They go to the acknowledgements topic like every other fact in Kontakt (the board's own feed
reads them back, so every open board shows the acknowledgement, and the sink copies them into
ClickHouse). Pure builders: the caller supplies ids and the instant.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

ACKNOWLEDGED = "AlertAcknowledged"
FOLLOW_UP = "FollowUpMarked"
ACK_TOPIC = "acknowledgements"
MAX_TEXT = 500


class FollowUp(StrEnum):
    CALLED_BACK = "called_back"
    ESCALATED = "escalated"


def _where(alert_id: str, where: tuple[str, str, str], contact_id: str | None) -> dict[str, Any]:
    tenant, region, channel = where
    return {"alert_id": alert_id, "tenant": tenant, "region": region, "channel": channel,
            "contact_id": contact_id}


def _clip(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:MAX_TEXT] or None


def acknowledgement(
    *, ack_id: str, alert_id: str, where: tuple[str, str, str], contact_id: str | None,
    by: str, key_id: str, at: int, note: str | None = None,
) -> dict[str, Any]:
    """An AlertAcknowledged datum; ``by`` falls back to the key id when the lead gave no name."""
    return {
        "ack_id": ack_id,
        **_where(alert_id, where, contact_id),
        "acknowledged_by": _clip(by) or key_id,
        "key_id": key_id,
        "acknowledged_at": at,
        "note": _clip(note),
    }


def follow_up(
    *, follow_up_id: str, alert_id: str, where: tuple[str, str, str], contact_id: str | None,
    action: FollowUp, by: str, key_id: str, at: int, note: str | None = None,
) -> dict[str, Any]:
    """A FollowUpMarked datum."""
    return {
        "follow_up_id": follow_up_id,
        **_where(alert_id, where, contact_id),
        "action": action.value,
        "marked_by": _clip(by) or key_id,
        "key_id": key_id,
        "marked_at": at,
        "note": _clip(note),
    }


def record_key(datum: dict[str, Any]) -> bytes:
    """Kafka key: the contact (as deploy/topics.toml declares), else the alert (storms)."""
    return str(datum.get("contact_id") or datum["alert_id"]).encode()
