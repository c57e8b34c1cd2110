"""What the worker emits when outcomes change: alert and outcome records, and their ids.

The SLA core says what each clock's outcome *is* at ``now``; this module says what is *new*
compared with what was already emitted for the contact (its "signatures"), and turns that into
Avro-ready dicts. Pure: no faust, no clock, no I/O.

Alert rules (docs/streams.md):
- ``warning`` for each threshold newly crossed while the clock is still open. A clock that is
  first seen already breached (a late or replayed contact) gets no warnings: they are stale.
- ``breached`` when the status becomes breached (at the due instant, or a late stop).
- ``met`` / ``cancelled`` when the clock stops with that status.
A late event can turn a breached outcome into met (or back): the new status is alerted again,
so downstream sees the correction, and the breach is withdrawn by an ``SlaAlertRetracted``
record (in ``alerts``, told apart by its ``retraction_id``) naming the breach's alert id.
Ids are uuid5 of (contact, milestone, alert, threshold), so an alert emitted twice
(redelivery, restart after a crash) carries the same id.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.events import format_timestamp
from streams.sla.clock import Outcome

SLA_ALERT = "SlaAlertRaised"
RETRACTED = "SlaAlertRetracted"
OUTCOME = "MilestoneOutcomeEvaluated"
_NAMESPACE = uuid.UUID("6f0c6f4e-7b39-4a51-9a57-0b8e2f3c1d10")
_NAMESPACE_BYTES = _NAMESPACE.bytes  # uuid.UUID.bytes builds them anew on every read

#: What was last emitted for one milestone: [status, [thresholds], due_at, stopped_at].
Signature = list[Any]


@dataclass(slots=True)
class Emission:
    """Records to send for one contact, and the signatures to remember afterwards.
    ``alert_bytes`` / ``outcome_bytes``: the same records Avro-encoded, filled by the worker's
    processor (streams.step_log.seal), which keeps those bytes in its step log and sends them."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    signatures: dict[str, Signature] = field(default_factory=dict)
    alert_bytes: list[bytes] = field(default_factory=list)
    outcome_bytes: list[bytes] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.alerts or self.outcomes)


def uuid5(name: str, namespace: uuid.UUID = _NAMESPACE) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building UUID objects (3x faster; ids are
    made for every alert and outcome on the hot path)."""
    prefix = _NAMESPACE_BYTES if namespace is _NAMESPACE else namespace.bytes
    d = bytearray(hashlib.sha1(prefix + name.encode()).digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x50
    d[8] = (d[8] & 0x3F) | 0x80
    h = d.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def alert_id(contact_id: str, milestone: str, alert: str, threshold: float | None) -> str:
    """Deterministic id of an SLA alert: the same clock event always gets the same id."""
    mark = "" if threshold is None else repr(float(threshold))
    return uuid5(f"{contact_id}|{milestone}|{alert}|{mark}")


def signature(outcome: Outcome) -> Signature:
    return [
        outcome.status.value,
        [float(t) for t in outcome.warnings_crossed] if outcome.warnings_crossed else [],
        outcome.due_at,
        outcome.stopped_at,
    ]


def diff(
    outcomes: Iterable[Outcome], previous: Mapping[str, Signature], now: int
) -> Emission:
    """Alerts and outcome records for what changed since ``previous`` (milestone -> signature)."""
    out = Emission(signatures=dict(previous))
    for outcome in outcomes:
        sig = signature(outcome)
        before = previous.get(outcome.milestone)
        if before == sig:
            continue
        out.signatures[outcome.milestone] = sig
        out.outcomes.append(outcome_record(outcome, sig, now))
        out.alerts.extend(_alerts(outcome, before, now))
    return out


def _alerts(outcome: Outcome, before: Signature | None, now: int) -> list[dict[str, Any]]:
    status = str(outcome.status)
    old_status = before[0] if before else None
    if status == "open":
        seen = set(before[1]) if before else set()
        return [
            alert_record(outcome, "warning", float(t), now)
            for t in outcome.warnings_crossed
            if float(t) not in seen
        ]
    if status != old_status and status in ("breached", "met", "cancelled"):
        alert = [alert_record(outcome, status, None, now)]
        if old_status == "breached":
            alert.append(retraction_record(outcome, now))
        return alert
    return []


def _common(outcome: Outcome) -> dict[str, Any]:
    return {
        "contact_id": outcome.contact_id,
        "milestone": outcome.milestone,
        "status": str(outcome.status),
        "started_at": outcome.started_at,
        "due_at": outcome.due_at,
        "stopped_at": outcome.stopped_at,
        "elapsed_ms": outcome.elapsed_ms,
        "target_ms": outcome.target_ms,
        "tenant": outcome.tenant,
        "region": outcome.region,
        "channel": str(outcome.channel),
        "contact_kind": str(outcome.kind),
        "customer_category": str(outcome.customer_category),
        "office": outcome.office,
    }


def alert_record(
    outcome: Outcome, alert: str, threshold: float | None, now: int
) -> dict[str, Any]:
    """An SlaAlertRaised datum."""
    return {
        "alert_id": alert_id(outcome.contact_id, outcome.milestone, alert, threshold),
        "alert": alert,
        "threshold": threshold,
        "raised_at": now,
        **_common(outcome),
    }


def retraction_record(outcome: Outcome, now: int) -> dict[str, Any]:
    """An SlaAlertRetracted datum: the clock's breach alert withdrawn, the clock now met or
    cancelled by an event read after the breach was raised."""
    breach = alert_id(outcome.contact_id, outcome.milestone, "breached", None)
    common = _common(outcome)
    return {
        "retraction_id": uuid5(f"{breach}|{outcome.stopped_at}"),
        "alert_id": breach,
        "reason": f"{outcome.ended_by or 'stopped'} at "
                  f"{format_timestamp(outcome.stopped_at or 0)}, read after the breach was raised",
        "retracted_at": now,
        **common,
    }


def is_retraction(record: Mapping[str, Any]) -> bool:
    return "retraction_id" in record


def alert_name(record: Mapping[str, Any]) -> str:
    """The Avro record name of an alert datum: a raised alert or a retraction."""
    return RETRACTED if is_retraction(record) else SLA_ALERT


def outcome_record(outcome: Outcome, sig: Signature, now: int) -> dict[str, Any]:
    """A MilestoneOutcomeEvaluated datum; its id names this revision of the outcome."""
    revision = f"{outcome.contact_id}|{outcome.milestone}|{sig!r}"
    return {
        "outcome_id": uuid5(revision),
        "warnings_crossed": [float(t) for t in outcome.warnings_crossed],
        "evaluated_at": now,
        "policy_version": outcome.policy_version,
        "policy": outcome.policy,
        **_common(outcome),
    }
