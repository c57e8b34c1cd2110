"""Erlang C against published worked examples and the textbook formula.

Sources checked by hand:
- Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example": 100 calls
  in 30 minutes, AHT 180 s, target 80% in 20 s -> A = 10 Erlangs; with 11 agents
  P_wait = 0.6821 and SL = 39%; 13 agents give 79.6% and 14 agents 88.8%, so 14 are needed.
- math.stackexchange, "probability of a customer joining a queue via Erlang C curve": 120
  customers/hour, 3 min each (A = 6), 10 servers -> "the probability of waiting is about 0.10".
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.alerts.erlang import agents_needed, asa_s, erlang_b, p_wait, service_level


def textbook_p_wait(a: float, n: int) -> float:
    """The formula as written in standard.md section 3, with factorials."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_call_centre_helper_worked_example() -> None:
    assert p_wait(10.0, 11) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(10.0, 11, 180, 20) == pytest.approx(0.39, abs=0.005)
    assert asa_s(10.0, 11, 180) == pytest.approx(122.8, abs=0.1)
    assert service_level(10.0, 13, 180, 20) == pytest.approx(0.796, abs=0.001)
    assert service_level(10.0, 14, 180, 20) == pytest.approx(0.888, abs=0.001)
    advice = agents_needed(200.0, 180.0, threshold_s=20, target=0.8)  # 100 per 30 min
    assert advice.traffic_erlangs == pytest.approx(10.0)
    assert advice.agents_needed == 14
    assert advice.occupancy == pytest.approx(10 / 14)


def test_stackexchange_curve_reading() -> None:
    assert p_wait(6.0, 10) == pytest.approx(0.10, abs=0.005)


def test_erlang_b_table_value() -> None:
    # Erlang B tables: 1 Erlang on 1 trunk blocks half the calls; A=2, N=2 -> 0.4.
    assert erlang_b(1.0, 1) == pytest.approx(0.5)
    assert erlang_b(2.0, 2) == pytest.approx(0.4)


@given(st.floats(0.1, 60.0), st.integers(1, 80))
def test_recurrence_matches_textbook_formula(a: float, extra: int) -> None:
    n = math.floor(a) + extra
    assert p_wait(a, n) == pytest.approx(textbook_p_wait(a, n), rel=1e-9)


def test_unstable_and_empty_queues() -> None:
    assert p_wait(5.0, 5) == 1.0
    assert service_level(5.0, 4, 180, 40) == 0.0
    assert math.isinf(asa_s(5.0, 5, 180))
    advice = agents_needed(0.0, 180.0)
    assert advice.agents_needed == 0


def test_needed_is_the_smallest_sufficient_count() -> None:
    advice = agents_needed(120.0, 240.0, threshold_s=40, target=0.8)
    a = advice.traffic_erlangs
    assert service_level(a, advice.agents_needed, 240, 40) >= 0.8
    assert service_level(a, advice.agents_needed - 1, 240, 40) < 0.8


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        agents_needed(10.0, 0.0)
    with pytest.raises(ValueError):
        agents_needed(10.0, 60.0, target=80)
