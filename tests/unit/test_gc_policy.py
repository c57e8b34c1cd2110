"""streams.gc_policy: frozen objects are skipped by collections, and what that keeps from the
collector is counted at shutdown."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.gc_policy import freeze_alive, set_young_threshold, unfrozen_garbage


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_a_full_collection_skips_frozen_objects() -> None:
    alive = [Node() for _ in range(1_000)]
    freeze_alive()
    assert gc.get_freeze_count() >= 1_000
    del alive  # cyclic garbage now, but frozen: the collector does not look at it
    assert gc.collect() < 1_000
    frozen, garbage = unfrozen_garbage()
    assert frozen >= 1_000 and garbage >= 1_000  # found once unfrozen
    assert gc.get_freeze_count() == 0


def test_garbage_made_after_a_freeze_is_still_collected() -> None:
    freeze_alive()
    later = [Node() for _ in range(1_000)]
    del later
    assert gc.collect() >= 1_000
    assert unfrozen_garbage()[1] < 1_000


def test_the_shutdown_count_is_skipped_above_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import streams.gc_policy as policy

    freeze_alive()
    monkeypatch.setattr(policy, "REPORT_MAX_OBJECTS", 10)
    frozen, garbage = unfrozen_garbage()
    assert frozen > 10 and garbage is None
    assert gc.get_freeze_count() == frozen  # left frozen: the process is stopping anyway


def test_the_young_threshold_spaces_collections_and_zero_leaves_python_s() -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        set_young_threshold(0)
        assert gc.get_threshold() == (700, 10, 10)
        set_young_threshold(100_000)
        assert gc.get_threshold() == (100_000, 10, 10)  # the older generations' ratios stay
        young = gc.get_stats()[0]["collections"]
        kept = [[] for _ in range(5_000)]  # 5,000 tracked objects alive: no young collection
        assert gc.get_stats()[0]["collections"] == young and len(kept) == 5_000
    finally:
        gc.set_threshold(*saved)
