"""The deadline heap: earliest-first, lazy invalidation, revocation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.timers import DeadlineHeap


def test_pops_due_contacts_earliest_first_and_keeps_later_ones() -> None:
    heap = DeadlineHeap()
    heap.schedule("b", 200)
    heap.schedule("a", 100)
    heap.schedule("c", 300)
    assert heap.next_instant() == 100
    assert heap.pop_due(250) == ["a", "b"]
    assert heap.next_instant() == 300
    assert len(heap) == 1 and "c" in heap


def test_rescheduling_invalidates_the_old_entry() -> None:
    heap = DeadlineHeap()
    heap.schedule("a", 100)
    heap.schedule("a", 500)
    assert heap.pop_due(400) == []
    assert heap.next_instant() == 500
    heap.schedule("a", None)
    assert heap.next_instant() is None
    assert heap.pop_due(10_000) == []


def test_drop_partitions_forgets_revoked_contacts() -> None:
    heap = DeadlineHeap()
    heap.schedule("a", 100, partition=0)
    heap.schedule("b", 100, partition=1)
    heap.drop_partitions([1])
    assert heap.pop_due(100) == ["a"]


def test_compaction_keeps_only_live_entries() -> None:
    heap = DeadlineHeap()
    for i in range(5000):
        heap.schedule("x", i)
    assert sum(len(h) for h in heap._heaps.values()) < 2100
    assert heap.pop_due(10**9) == ["x"]


ops = st.lists(
    st.tuples(st.sampled_from("abcdef"), st.one_of(st.none(), st.integers(0, 50))), max_size=60
)


@given(ops, st.integers(0, 60))
def test_matches_a_dictionary_model(operations: list[tuple[str, int | None]], now: int) -> None:
    heap = DeadlineHeap()
    model: dict[str, int] = {}
    for contact, instant in operations:
        heap.schedule(contact, instant)
        if instant is None:
            model.pop(contact, None)
        else:
            model[contact] = instant
    expected_next = min(model.values(), default=None)
    assert heap.next_instant() == expected_next
    fired = heap.pop_due(now)
    due = sorted((i, c) for c, i in model.items() if i <= now)
    assert sorted(fired) == sorted(c for _, c in due)
    assert [model[c] for c in fired] == sorted(model[c] for c in fired)
    assert len(heap) == len(model) - len(fired)


def test_a_partition_is_due_only_up_to_its_horizon():
    heap = DeadlineHeap()
    heap.schedule("a", 100, partition=0)
    heap.schedule("b", 100, partition=1)
    heap.schedule("c", 300, partition=1)
    # partition 0 read up to 50 only, partition 2 unknown: only b is due
    assert heap.pop_due(1_000, {0: 50, 1: 200}) == ["b"]
    assert heap.pop_due(1_000, {1: 10_000}) == ["c"]  # no horizon for 0: held
    assert heap.pop_due(90, {0: 10_000}) == []  # the wall clock bounds it too
    assert heap.pop_due(1_000, {0: 100}) == ["a"]
    assert len(heap) == 0


def test_a_contact_moved_to_another_partition_is_due_there():
    heap = DeadlineHeap()
    heap.schedule("a", 100, partition=0)
    heap.schedule("a", 100, partition=3)
    assert heap.pop_due(1_000, {0: 1_000}) == []
    assert heap.pop_due(1_000, {3: 1_000}) == ["a"]


def test_instants_and_partitions_read_back_from_one_packed_entry() -> None:
    heap = DeadlineHeap()
    heap.schedule("a", 1_795_000_000_123, 1023)
    heap.schedule("b", 1_795_000_000_123, 0)
    assert (heap.instant_of("a"), heap.partition_of("a")) == (1_795_000_000_123, 1023)
    assert heap.next_instant() == 1_795_000_000_123
    instants: list[int] = []
    assert sorted(heap.pop_due(1_795_000_000_123, instants=instants)) == ["a", "b"]
    assert instants == [1_795_000_000_123] * 2
    with pytest.raises(ValueError, match="partition 1024"):
        heap.schedule("c", 5, 1024)
