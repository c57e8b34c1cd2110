"""Erlang A (services/staffing/erlang_a.py) against figures that are known exactly: the
reference Erlang C figures, Erlang C as the limit of infinite patience, and the M/M/N+M chain
with patience equal to the handle time, whose number in system is Poisson (M/M/inf)."""

from __future__ import annotations

import math

import pytest

from services.alerts import erlang
from services.staffing import erlang_a


def _poisson(mean: float, upto: int) -> list[float]:
    p = [math.exp(-mean)]
    for j in range(1, upto):
        p.append(p[-1] * mean / j)
    return p


def test_reference_figures_of_erlang_c() -> None:
    # 200 calls/h, AHT 180 s, 80 % in 20 s -> 14 agents at SL 88.8 %
    advice = erlang.agents_needed(200, 180, threshold_s=20, target=0.8)
    assert advice.agents_needed == 14
    assert advice.service_level == pytest.approx(0.888, abs=0.0005)
    infinite = erlang_a.figures(200, 180, math.inf, 14, 20)
    assert infinite.service_level == pytest.approx(advice.service_level)
    assert erlang_a.agents_needed(200, 180, math.inf, threshold_s=20,
                                  max_abandon=None).agents_needed == 14


def test_pyworkforce_published_figures() -> None:
    # pyworkforce's own regression figures for its ErlangA (queuing/tests/test_abandonment.py):
    # 100 calls in 30 min, AHT 3 min, patience 5 min, 14 positions, answer within 20 s
    f = erlang_a.figures(200, 180, 300, 14, 20)
    assert round(f.p_wait, 5) == 0.14526
    assert round(f.p_abandon, 6) == 0.013984
    assert round(f.occupancy, 6) == 0.704297
    assert round(f.mean_wait_s / 60, 6) == 0.069919  # their ASA: minutes, over every caller
    assert round(f.service_level, 6) == 0.916792


@pytest.mark.parametrize("agents", [11, 14, 20])
def test_erlang_a_converges_to_erlang_c_as_patience_grows(agents: int) -> None:
    c_sl = erlang.service_level(10.0, agents, 180, 20)
    c_wait = erlang.p_wait(10.0, agents)
    c_asa = erlang.asa_s(10.0, agents, 180)
    previous = None
    for patience in (60, 600, 6_000, 60_000, 6_000_000, 600_000_000):
        f = erlang_a.figures(200, 180, patience, agents, 20)
        gap = abs(f.service_level - c_sl)
        if previous is not None:
            assert gap <= previous + 1e-12  # closer with every step
        previous = gap
    assert f.service_level == pytest.approx(c_sl, abs=1e-5)
    assert f.p_wait == pytest.approx(c_wait, abs=1e-5)
    assert f.asa_s == pytest.approx(c_asa, rel=1e-4)
    assert f.p_abandon < 1e-6


@pytest.mark.parametrize("agents", [6, 10, 12, 16])
def test_patience_equal_to_handle_time_is_poisson(agents: int) -> None:
    # theta = mu: every caller in the system leaves at rate mu, as in M/M/inf
    p = _poisson(10.0, 200)
    f = erlang_a.figures(200, 180, 180, agents, 20)
    assert f.p_wait == pytest.approx(sum(p[agents:]), rel=1e-9)
    queued = sum(pj * (j - agents) for j, pj in enumerate(p) if j > agents)
    assert f.p_abandon == pytest.approx(queued / 10.0, rel=1e-9)  # theta E[Q] / lambda


def test_abandonment_lowers_the_agents_needed_for_service_level() -> None:
    a = erlang_a.agents_needed(200, 180, 120, threshold_s=20, target=0.8, max_abandon=None)
    assert a.agents_for_service_level < 14
    assert a.expected.service_level >= 0.8
    below = erlang_a.figures(200, 180, 120, a.agents_needed - 1, 20)
    assert below.service_level < 0.8


def test_max_abandon_rate_can_drive_the_count() -> None:
    a = erlang_a.agents_needed(200, 180, 60, threshold_s=20, target=0.8, max_abandon=0.01)
    assert a.agents_needed == a.agents_for_abandon > a.agents_for_service_level
    assert a.expected.p_abandon <= 0.01
    assert erlang_a.figures(200, 180, 60, a.agents_needed - 1, 20).p_abandon > 0.01


def test_more_agents_never_worse() -> None:
    sls = [erlang_a.figures(300, 240, 90, n, 40).service_level for n in range(1, 40)]
    abandons = [erlang_a.figures(300, 240, 90, n, 40).p_abandon for n in range(1, 40)]
    assert sls == sorted(sls)
    assert abandons == sorted(abandons, reverse=True)


def test_patience_estimate_and_edges() -> None:
    assert erlang_a.estimate_patience(1200.0, 10) == 120.0
    assert erlang_a.estimate_patience(50.0, 0) == math.inf
    assert erlang_a.agents_needed(0, 180, 60).agents_needed == 0
    with pytest.raises(ValueError):
        erlang_a.figures(200, 0, 60, 10, 20)
    with pytest.raises(ValueError):
        erlang_a.agents_needed(200, 180, 60, target=1.5)
