"""Erlang A (M/M/N+M): a phone queue whose callers hang up when their patience runs out.

Pure arithmetic, no I/O. The model (Garnett, Mandelbaum & Reiman 2002, "Designing a call
center with impatient customers"):

- arrivals Poisson at rate lambda, handle times exponential with mean h (mu = 1/h),
  N agents, first come first served;
- each caller's patience is exponential with mean p (theta = 1/p): a caller still waiting when
  it runs out abandons;
- with theta -> 0 (infinite patience) the model is Erlang C (services.alerts.erlang).

How it is computed (exactly, by the birth-death chain -- no factorials, no special functions):

- the stationary chance that an arrival finds all agents busy and k callers ahead is
  r_k / (1/B + sum_{k>=1} r_k), with B the Erlang B of (A = lambda*h, N) and
  r_k = prod_{i=1..k} lambda / (N mu + i theta) (PASTA);
- a caller with k ahead moves one place on at rate N mu + i theta (i ahead: a service ends or
  one of them abandons) and leaves at rate theta, so they are answered with chance
  prod_{i=0..k} (N mu + i theta) / (N mu + (i+1) theta), and their wait is a sum of
  exponentials of rates N mu + i theta, i = 1..k+1, independent of whether they stay;
- service level SL(t) = P(answered within t) over all offered calls, the sum's distribution
  taken from a pure-birth chain by uniformisation.

Checked in tests/unit/test_erlang_a.py against pyworkforce's published ErlangA figures (equal
to the last digit), the Erlang C limit and the exact Poisson case (patience = handle time).

Patience is estimated from what the queue saw (:func:`estimate_patience`): the maximum
likelihood estimate for exponential patience when answered callers are censored, mean
patience = total waiting time / abandons, both without the short abandons
(streams/sla/metrics.py excludes them from every figure).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from services.alerts import erlang

#: Stop summing queue states once they carry less than this share of the probability.
_TAIL = 1e-13
#: Most queue states summed (a queue this long is far beyond any sensible plan).
_MAX_STATES = 50_000
#: Uniformisation steps are split so that each chunk's Poisson mean stays below this.
_MAX_POISSON_MEAN = 200.0


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """What Erlang A expects of one queue with ``agents`` agents."""

    agents: int
    p_wait: float  # an arrival finds every agent busy
    p_abandon: float  # an arrival hangs up before being answered
    service_level: float  # answered within the threshold, share of all offered calls
    asa_s: float  # mean wait of the answered calls
    occupancy: float  # handled traffic / agents
    mean_wait_s: float = 0.0  # mean time in queue of every caller, abandoned ones too (Little)


def estimate_patience(wait_s: float, abandons: int) -> float:
    """Mean patience (s) from the total waiting time of the queue's callers (answered and
    abandoned, short abandons excluded) and the number of (non-short) abandons; ``inf`` when
    nobody abandoned (Erlang A is then Erlang C)."""
    if wait_s < 0 or abandons < 0:
        raise ValueError("waiting time and abandons must not be negative")
    if abandons == 0:
        return math.inf
    return max(wait_s / abandons, 1.0)


def _birth_tail(rates: list[float], t: float) -> list[float]:
    """P(X(t) >= m), m = 0..len(rates), of a pure-birth chain from 0 with birth rate
    ``rates[m]`` in state m (the last state absorbs): the chance that a sum of the first m
    exponentials is at most t."""
    size = len(rates) + 1
    births = [*rates, 0.0]
    top = max(rates) if rates else 0.0
    p = [1.0] + [0.0] * (size - 1)
    if top <= 0 or t <= 0:
        return _suffix(p)
    chunks = max(1, math.ceil(top * t / _MAX_POISSON_MEAN))
    q = top * t / chunks
    stay = [1.0 - b / top for b in births]
    go = [b / top for b in births]
    for _ in range(chunks):
        weight = math.exp(-q)
        acc = [weight * x for x in p]
        total, n, v, reach = weight, 0, p, max(i for i, x in enumerate(p) if x > 0)
        while total < 1.0 - 1e-14 and n < 10 * q + 100:
            n += 1
            reach = min(reach + 1, size - 1)
            nxt = [0.0] * size
            for m in range(reach + 1):
                nxt[m] = v[m] * stay[m] + (v[m - 1] * go[m - 1] if m else 0.0)
            v = nxt
            weight *= q / n
            total += weight
            for m in range(reach + 1):
                acc[m] += weight * v[m]
        p = acc
    return _suffix(p)


def _suffix(p: list[float]) -> list[float]:
    out = [0.0] * len(p)
    running = 0.0
    for m in range(len(p) - 1, -1, -1):
        running += p[m]
        out[m] = min(running, 1.0)
    return out


def figures(arrivals_per_hour: float, handle_s: float, patience_s: float, agents: int,
            threshold_s: float) -> QueueFigures:
    """Erlang A's figures for ``agents`` agents (``patience_s`` = inf gives Erlang C's)."""
    if handle_s <= 0 or arrivals_per_hour < 0 or patience_s <= 0 or agents < 0:
        raise ValueError("handle time and patience must be positive, arrivals and agents "
                         "not negative")
    lam = arrivals_per_hour / 3600.0
    mu = 1.0 / handle_s
    traffic = lam * handle_s
    if lam == 0:
        return QueueFigures(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents == 0:
        return QueueFigures(0, 1.0, 1.0, 0.0, 0.0, 0.0)
    if math.isinf(patience_s):
        return _erlang_c(traffic, agents, handle_s, threshold_s)
    theta = 1.0 / patience_s
    b = erlang.erlang_b(traffic, agents)
    # queue states k = 0, 1, ...: weight r_k relative to pi_N
    weights = [1.0]
    total = 1.0
    k = 0
    while k < _MAX_STATES:
        k += 1
        nxt = weights[-1] * lam / (agents * mu + k * theta)
        weights.append(nxt)
        total += nxt
        if nxt < _TAIL * total and lam < agents * mu + k * theta:
            break
    norm = 1.0 / b + total - 1.0  # 1/B sums the states up to N, pi_N included
    p_wait = total / norm
    served: list[float] = []
    chance = 1.0
    mean_wait = 0.0
    waits: list[float] = []
    for i in range(len(weights)):
        chance *= (agents * mu + i * theta) / (agents * mu + (i + 1) * theta)
        served.append(chance)
        mean_wait += 1.0 / (agents * mu + (i + 1) * theta)
        waits.append(mean_wait)
    rates = [agents * mu + (i + 1) * theta for i in range(len(weights))]
    tail = _birth_tail(rates, threshold_s)
    p_abandon = sum(w * (1.0 - s) for w, s in zip(weights, served, strict=True)) / norm
    within = sum(w * s * tail[i + 1] for i, (w, s) in enumerate(zip(weights, served,
                                                                    strict=True))) / norm
    answered = 1.0 - p_abandon
    waited = sum(w * s * m for w, s, m in zip(weights, served, waits, strict=True)) / norm
    queue_length = sum(k * w for k, w in enumerate(weights)) / norm  # time-average, by PASTA
    return QueueFigures(
        agents=agents,
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=min(1.0, (1.0 - p_wait) + within),
        asa_s=waited / answered if answered > 0 else math.inf,
        occupancy=min(1.0, traffic * answered / agents),
        mean_wait_s=queue_length / lam,
    )


def _erlang_c(traffic: float, agents: int, handle_s: float, threshold_s: float) -> QueueFigures:
    if agents <= traffic:
        return QueueFigures(agents, 1.0, 0.0, 0.0, math.inf, 1.0, math.inf)
    return QueueFigures(
        agents=agents,
        p_wait=erlang.p_wait(traffic, agents),
        p_abandon=0.0,
        service_level=erlang.service_level(traffic, agents, handle_s, threshold_s),
        asa_s=erlang.asa_s(traffic, agents, handle_s),
        occupancy=traffic / agents,
        mean_wait_s=erlang.asa_s(traffic, agents, handle_s),
    )


@dataclass(frozen=True, slots=True)
class ErlangAAdvice:
    """Agents Erlang A says a queue needs, and why."""

    agents_needed: int  # the larger of the two below
    agents_for_service_level: int
    agents_for_abandon: int
    expected: QueueFigures  # at agents_needed


def agents_needed(
    arrivals_per_hour: float,
    handle_s: float,
    patience_s: float,
    *,
    threshold_s: float = 40.0,
    target: float = 0.8,
    max_abandon: float | None = 0.05,
    max_agents: int = 10_000,
) -> ErlangAAdvice:
    """The fewest agents for SL(threshold_s) >= target and abandon rate <= max_abandon."""
    if not 0.0 < target < 1.0:
        raise ValueError("target service level must be between 0 and 1 (e.g. 0.8)")
    if max_abandon is not None and not 0.0 < max_abandon < 1.0:
        raise ValueError("the maximum abandon rate must be between 0 and 1 (e.g. 0.05)")
    if arrivals_per_hour == 0:
        zero = figures(0.0, handle_s, patience_s, 0, threshold_s)
        return ErlangAAdvice(0, 0, 0, zero)

    def fewest(ok: Callable[[int], bool]) -> int:
        hi = max(1, math.ceil(arrivals_per_hour * handle_s / 3600.0) + 1)
        while not ok(hi):
            hi *= 2
            if hi > max_agents:
                raise ValueError(f"more than {max_agents} agents needed; check the inputs")
        lo = 0  # ok(lo) is False: no calls are answered by nobody
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def at(n: int) -> QueueFigures:
        return figures(arrivals_per_hour, handle_s, patience_s, n, threshold_s)

    for_sl = fewest(lambda n: at(n).service_level >= target)
    for_ab = 0 if max_abandon is None else fewest(lambda n: at(n).p_abandon <= max_abandon)
    n = max(for_sl, for_ab)
    return ErlangAAdvice(n, for_sl, for_ab, at(n))
