"""The idempotency window: acknowledged ids are duplicates for the window; pending ids make a
concurrent request wait for the outcome instead of answering 2xx early."""

from __future__ import annotations

import threading
import time

import pytest

from services.ingest.window import IdempotencyWindow, WindowBusy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_committed_ids_are_duplicates_until_the_window_passes() -> None:
    clock = Clock()
    window = IdempotencyWindow(60, 100, clock)
    first = window.reserve([("t", "a"), ("t", "b"), ("t", "a")], 1)
    assert first.fresh == [("t", "a"), ("t", "b")] and first.duplicates == []
    window.commit(first.fresh)
    again = window.reserve([("t", "a"), ("u", "a")], 1)
    assert again.duplicates == [("t", "a")] and again.fresh == [("u", "a")]
    window.release(again.fresh)
    clock.now += 61
    assert window.reserve([("t", "a")], 1).fresh == [("t", "a")]


def test_released_ids_can_be_published_again() -> None:
    window = IdempotencyWindow(60, 100)
    window.release(window.reserve([("t", "a")], 1).fresh)
    assert window.reserve([("t", "a")], 1).fresh == [("t", "a")]


def test_oldest_ids_are_forgotten_beyond_max_entries() -> None:
    window = IdempotencyWindow(3600, 2)
    for name in "abc":
        window.commit(window.reserve([("t", name)], 1).fresh)
    assert len(window) == 2
    assert window.reserve([("t", "a")], 1).fresh == [("t", "a")]


@pytest.mark.parametrize(("outcome", "expected"), [("commit", "duplicates"), ("release", "fresh")])
def test_concurrent_request_waits_for_the_pending_outcome(outcome: str, expected: str) -> None:
    window = IdempotencyWindow(60, 100)
    held = window.reserve([("t", "a")], 1)
    results = {}

    def second() -> None:
        r = window.reserve([("t", "a")], 5)
        results["r"] = r

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.1)
    assert "r" not in results  # still waiting
    getattr(window, outcome)(held.fresh)
    thread.join(2)
    assert getattr(results["r"], expected) == [("t", "a")]


def test_waiting_too_long_raises_busy_and_releases_own_ids() -> None:
    window = IdempotencyWindow(60, 100)
    window.reserve([("t", "a")], 1)
    with pytest.raises(WindowBusy, match="'a'"):
        window.reserve([("t", "b"), ("t", "a")], 0.05)
    assert window.reserve([("t", "b")], 1).fresh == [("t", "b")]
