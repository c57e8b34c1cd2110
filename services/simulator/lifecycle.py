"""One contact's life: the sequence of (instant, event type, agent) steps on its channel.

The shapes follow the SLA presets' milestones: phone and office queued -> answered/abandoned,
written channels received -> registered/classified/assigned (back-office desk), call-backs
callback_requested -> callback_completed, written answers received -> responded with optional
paused/resumed, complaints registered. Waits come from the agent pools, never from a dice roll.

Queued channels are driven by the instant a customer joins the queue (after the IVR menu or
taking a ticket), so the pools see jobs in queue order and stay exactly first-come-first-served;
``received`` lies up to MAX_LEAD_MS before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random

from schemas.events import Channel, EventType, Kind
from schemas.units import HOUR_MS, MINUTE_MS
from services.simulator.calendar import Schedule
from services.simulator.model import Behaviour, Timing
from services.simulator.queueing import AgentPool

Step = tuple[int, EventType, str | None]  # (occurred_at ms, type, agent)
MAX_LEAD_MS = MINUTE_MS  # received precedes queued by at most this much (IVR, ticket machine)


@dataclass(slots=True)
class Site:
    """The agent pools of one tenant in one region (the call centre queue, the office, the
    back-office desk, the call-back desk) and the desk's working hours."""

    tenant: str
    region: str
    phone: AgentPool
    office: AgentPool
    desk: AgentPool
    callback: AgentPool
    desk_hours: Schedule
    office_id: str
    recent: list[tuple[int, str, str, Kind, str]] = field(default_factory=list)
    # recent contacts: (instant, contact_id, customer_ref, kind, topic), trimmed by the caller


def lognormal_ms(rng: Random, median_s: float, sigma: float) -> int:
    return max(1000, round(rng.lognormvariate(math.log(median_s), sigma) * 1000))


def _agent(pool: AgentPool, index: int | None) -> str | None:
    return None if index is None else f"{pool.name}.a{index + 1}"


@dataclass(frozen=True, slots=True)
class Life:
    """Shared inputs of the lifecycle builders."""

    rng: Random
    timing: Timing
    behaviour: Behaviour


def _close(life: Life, steps: list[Step], resolved_at: int, agent: str | None) -> None:
    steps.append((resolved_at, EventType.RESOLVED, agent))
    lag = round(life.rng.expovariate(1.0 / life.behaviour.close_lag_h) * HOUR_MS)
    steps.append((resolved_at + lag, EventType.CLOSED, agent))


def _abandon(steps: list[Step], at: int) -> None:
    """The customer gave up waiting; the contact record is closed at once (which also cancels
    any other clock the contact started, such as a complaint's registration)."""
    steps.append((at, EventType.ABANDONED, None))
    steps.append((at, EventType.CLOSED, None))


def _answer(
    life: Life, steps: list[Step], site: Site, ready: int, work_h: float, agent: str | None
) -> None:
    """The written answer: working time on the desk's calendar, perhaps paused for the
    customer in the middle (the pausable 30-day clock), then responded, resolved, closed."""
    work = round(life.rng.lognormvariate(math.log(work_h), life.timing.sigma) * HOUR_MS)
    if life.rng.random() < life.behaviour.pause:
        before = round(work * life.rng.uniform(0.1, 0.6))
        paused = site.desk_hours.advance(ready, before)
        wait_h = life.rng.lognormvariate(math.log(life.timing.customer_reply_h), 0.8)
        resumed = paused + round(wait_h * HOUR_MS)
        steps.append((paused, EventType.PAUSED, agent))
        steps.append((resumed, EventType.RESUMED, agent))
        ready, work = resumed, work - before
    responded = site.desk_hours.advance(ready, work)
    steps.append((responded, EventType.RESPONDED, agent))
    _close(life, steps, responded, agent)


def _register(life: Life, steps: list[Step], site: Site, ready: int) -> tuple[int, str | None]:
    """Back-office desk: register, classify, assign (one job of a clerk, FCFS)."""
    handle = lognormal_ms(life.rng, life.timing.desk_handle_s, life.timing.sigma)
    job = site.desk.offer(ready, handle)
    clerk = _agent(site.desk, job.agent)
    steps.append((job.start, EventType.REGISTERED, clerk))
    steps.append((job.start + handle // 3, EventType.CLASSIFIED, clerk))
    steps.append((job.start + handle, EventType.ASSIGNED, clerk))
    return job.start + handle, clerk


def phone(life: Life, site: Site, kind: Kind, queued: int) -> tuple[list[Step], bool]:
    """A call: IVR, queue, answered or abandoned; then resolved on the call, a call-back, or
    (complaints) registered and answered in writing. Returns (steps, abandoned)."""
    rng, tm = life.rng, life.timing
    received = queued - round(rng.uniform(*tm.ivr_s) * 1000)
    steps: list[Step] = [(received, EventType.RECEIVED, None), (queued, EventType.QUEUED, None)]
    handle = lognormal_ms(rng, tm.phone_handle_s, tm.sigma)
    patience = lognormal_ms(rng, tm.phone_patience_s, 1.0)
    job = site.phone.offer(queued, handle, patience)
    if job.agent is None:
        _abandon(steps, job.start)
        return steps, True
    agent = _agent(site.phone, job.agent)
    steps.append((job.start, EventType.ANSWERED, agent))
    end = job.start + handle
    if kind is Kind.COMPLAINT:
        steps.append((end, EventType.REGISTERED, agent))
        steps.append((end, EventType.CLASSIFIED, agent))
        steps.append((end, EventType.ASSIGNED, agent))
        _answer(life, steps, site, end, tm.written_work_h, agent)
    elif kind is not Kind.OUTAGE and rng.random() < life.behaviour.callback:
        steps.append((end, EventType.CALLBACK_REQUESTED, agent))
        cb_handle = lognormal_ms(rng, tm.callback_handle_s, tm.sigma)
        call = site.callback.offer(end, cb_handle)
        done = call.start + cb_handle
        steps.append((done, EventType.CALLBACK_COMPLETED, _agent(site.callback, call.agent)))
        _close(life, steps, done, _agent(site.callback, call.agent))
    else:
        _close(life, steps, end, agent)
    return steps, False


def office(life: Life, site: Site, kind: Kind, queued: int) -> list[Step]:
    """A visit: ticket, queue for a window (may leave), served; applications are registered
    at the window and answered later in writing."""
    rng, tm = life.rng, life.timing
    # the ticket machine registers the visit and queues it at once (never before opening time)
    steps: list[Step] = [(queued, EventType.RECEIVED, None), (queued, EventType.QUEUED, None)]
    handle = lognormal_ms(rng, tm.office_handle_s, tm.sigma)
    patience = lognormal_ms(rng, tm.office_patience_s, 0.5)
    job = site.office.offer(queued, handle, patience)
    if job.agent is None:
        _abandon(steps, job.start)
        return steps
    agent = _agent(site.office, job.agent)
    steps.append((job.start, EventType.ANSWERED, agent))
    end = job.start + handle
    if kind in (Kind.INQUIRY, Kind.OUTAGE):
        _close(life, steps, end, agent)
        return steps
    steps.append((end, EventType.REGISTERED, agent))
    steps.append((end, EventType.CLASSIFIED, agent))
    steps.append((end, EventType.ASSIGNED, agent))
    _answer(life, steps, site, end, tm.written_work_h, agent)
    return steps


def written(life: Life, site: Site, channel: Channel, kind: Kind, received: int) -> list[Step]:
    """Email, web form, messenger or a letter: the desk registers, classifies and assigns it;
    a specialist answers (letters and complaints take the long written route)."""
    steps: list[Step] = [(received, EventType.RECEIVED, None)]
    done, clerk = _register(life, steps, site, received)
    long_route = channel is Channel.POST or kind in (Kind.COMPLAINT, Kind.CONNECTION)
    work_h = life.timing.written_work_h if long_route else life.timing.email_work_h
    _answer(life, steps, site, done, work_h, clerk)
    return steps
