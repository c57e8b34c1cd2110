"""Erlang C staffing arithmetic for one phone queue (pure: no I/O, no clock).

The model (standard.md section 3; docs/board.md "Staffing advice"):

    A = lambda * h                       offered traffic in Erlangs
    P_wait = [A^N/N! * N/(N-A)] / [sum_{k<N} A^k/k! + A^N/N! * N/(N-A)]
    SL(t) = 1 - P_wait * exp(-(N-A) * t / h)
    ASA = P_wait * h / (N-A)

Assumptions, which a shift lead should keep in mind when reading the advice:
- arrivals are Poisson with a constant rate over the interval (a storm breaks this);
- handle times are exponentially distributed with mean h (talk + hold + after-call work);
- nobody abandons and nobody is blocked: every caller waits until answered (so the advice is
  conservative when callers hang up);
- the N agents are all on this queue and all available (no shrinkage, no multi-skilling);
- the system is stable only for N > A; with N <= A the queue grows without bound.

P_wait is computed through the Erlang B recurrence B(n) = A*B(n-1) / (n + A*B(n-1)),
C = N*B / (N - A*(1-B)), which needs no factorials and does not overflow for large N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of Erlang B for ``agents`` servers and ``traffic`` Erlangs."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must not be negative")
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def p_wait(traffic: float, agents: int) -> float:
    """Erlang C: the probability that a call has to wait; 1.0 when the queue is unstable."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = erlang_b(traffic, agents)
    return agents * b / (agents - traffic * (1.0 - b))


def service_level(traffic: float, agents: int, handle_s: float, threshold_s: float) -> float:
    """Share of calls answered within ``threshold_s`` seconds (0.0 when unstable)."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    pw = p_wait(traffic, agents)
    return 1.0 - pw * math.exp(-(agents - traffic) * threshold_s / handle_s)


def asa_s(traffic: float, agents: int, handle_s: float) -> float:
    """Average speed of answer in seconds (infinite when unstable)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return p_wait(traffic, agents) * handle_s / (agents - traffic)


@dataclass(frozen=True, slots=True)
class StaffingAdvice:
    """What Erlang C says one queue needs, with the inputs it was computed from."""

    arrivals_per_hour: float
    handle_s: float
    traffic_erlangs: float
    agents_needed: int
    service_level: float  # expected at agents_needed
    asa_s: float  # expected at agents_needed
    p_wait: float  # expected at agents_needed
    occupancy: float  # traffic / agents_needed


def agents_needed(
    arrivals_per_hour: float,
    handle_s: float,
    *,
    threshold_s: float = 40.0,
    target: float = 0.8,
    max_agents: int = 10_000,
) -> StaffingAdvice:
    """The fewest agents for which SL(threshold_s) >= target (0 when no calls arrive)."""
    if not 0.0 < target < 1.0:
        raise ValueError("target service level must be between 0 and 1 (e.g. 0.8)")
    if handle_s <= 0 or arrivals_per_hour < 0:
        raise ValueError("handle time must be positive and the arrival rate not negative")
    traffic = arrivals_per_hour * handle_s / 3600.0
    if traffic == 0:
        return StaffingAdvice(arrivals_per_hour, handle_s, 0.0, 0, 1.0, 0.0, 0.0, 0.0)
    n = max(1, math.floor(traffic) + 1)
    while service_level(traffic, n, handle_s, threshold_s) < target:
        n += 1
        if n > max_agents:
            raise ValueError(f"more than {max_agents} agents needed; check the inputs")
    return StaffingAdvice(
        arrivals_per_hour=arrivals_per_hour,
        handle_s=handle_s,
        traffic_erlangs=traffic,
        agents_needed=n,
        service_level=service_level(traffic, n, handle_s, threshold_s),
        asa_s=asa_s(traffic, n, handle_s),
        p_wait=p_wait(traffic, n),
        occupancy=traffic / n,
    )
