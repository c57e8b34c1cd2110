"""Alert transitions between two evaluations of one contact (for the stream worker).

The worker evaluates a contact before and after an event or timer and asks what changed. Alert
ids are deterministic, ``f"{contact_id}:{milestone}:{kind}:{threshold}"``, so a re-delivered
event or a replayed timer produces the same id and downstream can de-duplicate on it:

* ``warning`` -- threshold is the fraction formatted with ``:g`` (``0.5``, ``0.8``, ``0.9``);
* ``breached`` -- threshold ``1`` (100 % of the target);
* ``met`` / ``cancelled`` -- threshold ``-``.

A clock that jumps several steps at once (e.g. the worker was down) yields every step, warnings
first, in threshold order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from streams.sla.clock import Outcome, Status


class AlertKind(StrEnum):
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Transition:
    contact_id: str
    milestone: str
    kind: AlertKind
    threshold: float | None  # warning fraction; 1.0 for breached; None for met/cancelled
    outcome: Outcome  # the new outcome that shows the transition

    @property
    def alert_id(self) -> str:
        return alert_id(self.contact_id, self.milestone, self.kind, self.threshold)


def alert_id(contact_id: str, milestone: str, kind: AlertKind, threshold: float | None) -> str:
    """The deterministic alert id ``contact:milestone:kind:threshold``."""
    mark = "-" if threshold is None else f"{threshold:g}"
    return f"{contact_id}:{milestone}:{kind.value}:{mark}"


_FINAL = {Status.MET: AlertKind.MET, Status.CANCELLED: AlertKind.CANCELLED}


def transitions(old: Iterable[Outcome], new: Iterable[Outcome]) -> list[Transition]:
    """Alert transitions from ``old`` to ``new`` outcomes (of one or many contacts)."""
    before = {(o.contact_id, o.milestone): o for o in old}
    out: list[Transition] = []
    for o in new:
        prev = before.get((o.contact_id, o.milestone))
        crossed = set(prev.warnings_crossed) if prev is not None else set()
        for w in o.warnings_crossed:
            if w not in crossed:
                out.append(Transition(o.contact_id, o.milestone, AlertKind.WARNING, w, o))
        if prev is not None and prev.status is o.status:
            continue
        if o.status is Status.BREACHED:
            out.append(Transition(o.contact_id, o.milestone, AlertKind.BREACHED, 1.0, o))
        elif o.status in _FINAL:
            out.append(Transition(o.contact_id, o.milestone, _FINAL[o.status], None, o))
    return out
