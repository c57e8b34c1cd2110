"""SLA clocks: what each milestone of a policy says about one contact at an instant ``now``.

Pure arithmetic on integer milliseconds. For every applicable milestone whose start event has
happened (at or before ``now``, or ``events_until`` when given): the clock runs from the start
instant through the calendar's counted time, minus pauses (pausable milestones), and ends at
the earliest of

* the stop instant -- once every ``stop_all`` event has happened, the latest of them;
* ``abandoned`` (``abandon_rule``) or a ``cancel`` event -- cancelled if the elapsed time is
  still within the target, breached otherwise (a breach already reached is never undone).

Met means elapsed <= target, so ``due_at`` is the LAST instant at which a stop still meets the
target (``reach(target + 1) - 1``); an open clock is breached exactly when ``now > due_at``.
Events after ``now`` and events after ``closed`` (until ``reopened``) are ignored.

``events_until`` (default ``now``) separates what is known from when it is judged: the worker
judges open clocks at the instant up to which it has read the log (streams/watermarks.py), which
may lie a little before the events it has already folded. Those events still count (a call
answered is answered), but an open clock is measured only up to ``now``, so no warning or breach
is raised for an instant the log has not been read up to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from schemas.events import Channel, CustomerCategory, EventType, Kind
from streams.sla.calendars import ALWAYS_ON, TWENTY_FOUR_SEVEN, Calendar, get_calendar
from streams.sla.policy import Milestone, Policy
from streams.sla.records import positional_constructor
from streams.sla.state import ContactState

_PAUSED, _RESUMED, _CLOSED, _REOPENED = (
    EventType.PAUSED, EventType.RESUMED, EventType.CLOSED, EventType.REOPENED)
_ABANDONED = EventType.ABANDONED


class Status(StrEnum):
    MET = "met"
    BREACHED = "breached"
    OPEN = "open"
    CANCELLED = "cancelled"


_MET, _BREACHED, _OPEN, _CANCELLED = Status.MET, Status.BREACHED, Status.OPEN, Status.CANCELLED
#: enum member -> its plain str value (a dict lookup is cheaper than the ``.value`` property)
_PLAIN: dict[StrEnum, str] = {
    m: m.value for enum in (Channel, Kind, CustomerCategory, EventType) for m in enum
}


@dataclass(frozen=True, slots=True)
class Outcome:
    contact_id: str
    milestone: str
    status: Status
    started_at: int
    due_at: int | None  # None while paused (the due instant depends on the resume)
    stopped_at: int | None
    elapsed_ms: int
    target_ms: int
    warnings_crossed: tuple[float, ...]
    tenant: str
    region: str
    channel: str
    kind: str
    customer_category: str
    office: str | None
    ended_by: str | None = None  # event type that ended the clock (answered, abandoned, ...)
    paused: bool = False  # an open pause at `now`
    calendar: str = "24x7"
    policy_version: int = 0  # the tenant's policy version that judged it; 0 = platform default
    policy: str = ""  # the name of the policy that judged it


_new_outcome = positional_constructor(Outcome)
Pause = tuple[int, int | None]


def threshold_ms(target_ms: int, fraction: float) -> int:
    """Elapsed ms at which a warning fraction is crossed (elapsed >= fraction x target)."""
    return max(1, math.ceil(round(target_ms * fraction, 3)))


@dataclass(slots=True)
class _Facts:
    """One pass over the effective events: times per type and the pause/resume sequence."""

    times: dict[EventType, list[int]]
    pauses: list[tuple[int, bool]]  # (instant, True=paused / False=resumed)
    next_event: int | None  # earliest event after `now`


def _facts(state: ContactState, now: int) -> _Facts:
    times: dict[EventType, list[int]] = {}
    pauses: list[tuple[int, bool]] = []
    closed = False
    for e in state.events:
        at = e.occurred_at
        if at > now:
            return _Facts(times, pauses, at)
        etype = e.type
        if closed and etype is not _REOPENED:
            continue
        closed = etype is _CLOSED or (closed and etype is not _REOPENED)
        bucket = times.get(etype)
        if bucket is None:
            times[etype] = [at]
        else:
            bucket.append(at)
        if etype is _PAUSED or etype is _RESUMED:
            pauses.append((at, etype is _PAUSED))
    return _Facts(times, pauses, None)


def _first_at_or_after(times: list[int] | None, start: int) -> int | None:
    if times:
        for at in times:
            if at >= start:
                return at
    return None


def _pause_intervals(seq: list[tuple[int, bool]], start: int, end: int | None) -> list[Pause]:
    """Pauses clipped to [start, end); an unresumed pause runs to ``end`` (None = still on)."""
    out: list[Pause] = []
    opened: int | None = None
    for at, is_pause in seq:
        if is_pause:
            if opened is None:
                opened = at
        elif opened is not None:
            lo, hi = max(opened, start), at if end is None else min(at, end)
            if hi > lo:
                out.append((lo, hi))
            opened = None
    if opened is not None:
        lo = max(opened, start)
        if end is None:
            out.append((lo, None))
        elif end > lo:
            out.append((lo, end))
    return out


def _elapsed(cal: Calendar, start: int, until: int, pauses: list[Pause]) -> int:
    total = cal.measure(start, until)
    for lo, hi in pauses:
        if lo >= until:
            break
        total -= cal.measure(lo, until if hi is None or hi > until else hi)
    return total


def _reach(cal: Calendar, start: int, amount: int, pauses: list[Pause]) -> int | None:
    """Earliest instant at which ``amount`` ms have counted; None if an open pause comes first."""
    cur, rest = start, amount
    for lo, hi in pauses:
        counted = cal.measure(cur, lo)
        if counted >= rest:
            return cal.reach(cur, rest)
        rest -= counted
        if hi is None:
            return None
        cur = hi
    return cal.reach(cur, rest)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a milestone needs per evaluation, computed once per Milestone object."""

    milestone: Milestone
    stops: tuple[EventType, ...]
    stoppers: tuple[EventType, ...]  # cancel events, plus abandoned under the abandon rule
    always_on: bool
    thresholds: dict[int, tuple[tuple[float, int], ...]]  # target -> ((fraction, ms), ...)

    def warning_ms(self, target: int) -> tuple[tuple[float, int], ...]:
        found = self.thresholds.get(target)
        if found is None:
            found = tuple((w, threshold_ms(target, w)) for w in self.milestone.warnings)
            self.thresholds[target] = found
        return found


_PLANS: dict[int, _Plan] = {}


def _plan(m: Milestone) -> _Plan:
    plan = _PLANS.get(id(m))
    if plan is None or plan.milestone is not m:
        if len(_PLANS) > 10_000:
            _PLANS.clear()
        plan = _Plan(
            milestone=m,
            stops=tuple(sorted(m.stop_all, key=lambda t: t.value)),
            # abandoned first: at a tie with a cancel (abandoned + closed at once) it names the end
            stoppers=(*((_ABANDONED,) if m.abandon_rule else ()),
                      *sorted(m.cancel, key=lambda t: t.value)),
            always_on=m.calendar == TWENTY_FOUR_SEVEN,
            thresholds={},
        )
        _PLANS[id(m)] = plan
    return plan


def _clock(state: ContactState, m: Milestone, facts: _Facts, now: int, version: int = 0, policy: str = "") -> tuple[Outcome, list[Pause], Calendar] | None:  # noqa: E501
    times = facts.times
    starts = times.get(m.start)
    if not starts:
        return None
    plan = _plan(m)
    start = starts[0]
    target = m.category_targets.get(state.customer_category, m.target_ms)
    end: int | None = None
    ended_by: EventType | None = None
    met_possible = False
    last = -1
    for etype in plan.stops:
        at_list = times.get(etype)
        if not at_list:
            break
        if at_list[0] >= last:
            last, ended_by = at_list[0], etype
    else:
        end, met_possible = max(start, last), True
    if end is None:
        ended_by = None
    for etype in plan.stoppers:
        at = _first_at_or_after(times.get(etype), start)
        if at is not None and (end is None or at < end):
            end, ended_by, met_possible = at, etype, False
    until = (now if now > start else start) if end is None else end
    pauses = _pause_intervals(facts.pauses, start, end) if m.pausable and facts.pauses else []
    if plan.always_on and not pauses:
        cal: Calendar = ALWAYS_ON
        elapsed = until - start
        reached: int | None = start + target + 1
    else:
        cal = get_calendar(m.calendar, state.region)
        elapsed = _elapsed(cal, start, until, pauses)
        reached = _reach(cal, start, target + 1, pauses)
    if elapsed > target:
        status = _BREACHED
    elif end is None:
        status = _OPEN
    else:
        status = _MET if met_possible else _CANCELLED
    # fields in declaration order, without the dataclass __init__ (records.py)
    outcome = _new_outcome(
        state.contact_id, m.id, status, start, None if reached is None else reached - 1, end,
        elapsed, target, tuple(w for w, ms in plan.warning_ms(target) if elapsed >= ms),
        state.tenant, state.region, _PLAIN[state.channel], _PLAIN[state.kind],
        _PLAIN[state.customer_category], state.office,
        None if ended_by is None else _PLAIN[ended_by],  # ended_by
        end is None and bool(pauses) and pauses[-1][1] is None,  # paused
        m.calendar, version, policy,
    )
    return outcome, pauses, cal


def evaluate(
    state: ContactState, policy: Policy, now: int, events_until: int | None = None
) -> list[Outcome]:
    """One Outcome per applicable milestone started at or before ``events_until`` (default
    ``now``), in policy order; open clocks measured at ``now``."""
    facts = _facts(state, now if events_until is None else events_until)
    out = []
    for m in policy.milestones:
        if m.applies_to(state.channel, state.kind):
            result = _clock(state, m, facts, now, policy.version, policy.name)
            if result is not None:
                out.append(result[0])
    return out


def next_change(
    state: ContactState, policy: Policy, now: int, events_until: int | None = None
) -> int | None:
    """Earliest instant > ``now`` at which an outcome's status or warnings change: the next
    uncrossed warning, a due instant passing, or the next event already in the state that lies
    after ``events_until`` (default ``now``). None when every clock has stopped (or is paused)
    and no event is pending."""
    return evaluate_next(state, policy, now, events_until)[1]


def evaluate_next(
    state: ContactState, policy: Policy, now: int, events_until: int | None = None
) -> tuple[list[Outcome], int | None]:
    """``(evaluate(...), next_change(...))`` of the same arguments in one pass over the events
    and the clocks: the worker needs both after every event."""
    facts = _facts(state, now if events_until is None else events_until)
    best = facts.next_event
    out = []
    for m in policy.milestones:
        if m.applies_to(state.channel, state.kind):
            result = _clock(state, m, facts, now, policy.version, policy.name)
            if result is not None:
                out.append(result[0])
                best = _sooner(m, *result, best)
    return out, best


def _sooner(m: Milestone, outcome: Outcome, pauses: list[Pause], cal: Calendar,
            best: int | None) -> int | None:
    """``best``, or the clock's next change if that comes first: its due instant passing or
    its next uncrossed warning (none for a clock stopped or paused)."""
    if outcome.stopped_at is not None or outcome.paused:
        return best
    if outcome.status is Status.OPEN and outcome.due_at is not None:
        best = outcome.due_at + 1 if best is None else min(best, outcome.due_at + 1)
    for w in m.warnings:
        if w in outcome.warnings_crossed:
            continue
        at = _reach(cal, outcome.started_at, threshold_ms(outcome.target_ms, w), pauses)
        if at is not None and (best is None or at < best):
            best = at
    return best
