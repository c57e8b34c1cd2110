"""The read watermark: an instant is proven read only when the log as it stood then is folded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.watermarks import ReadWatermarks


def test_unknown_until_a_sample_is_read_up_to() -> None:
    marks = ReadWatermarks()
    assert marks.read_until(0) is None
    marks.asked(0, at=1_000, end_offset=10)
    assert marks.read_until(0) is None  # nothing fetched yet
    marks.fetched(0, position=10, last_returned=9)
    assert marks.read_until(0) is None  # handed over, not folded
    marks.processed(0, 8)
    assert marks.read_until(0) is None
    marks.processed(0, 9)
    assert marks.read_until(0) == 1_000
    assert marks.judged_at([0, 1], now=900) == {0: 900}  # capped by now; 1 unknown


def test_transaction_markers_past_the_last_record_count_as_read() -> None:
    """The last stable offset lies past a commit marker the consumer skipped: its position
    says so, though no record has that offset."""
    marks = ReadWatermarks()
    marks.asked(0, at=5, end_offset=12)  # records 0..10, the marker at 11
    marks.fetched(0, position=12, last_returned=10)
    marks.processed(0, 10)
    assert marks.read_until(0) == 5


def test_an_idle_partition_is_read_at_its_position() -> None:
    marks = ReadWatermarks()
    marks.fetched(0, position=7, last_returned=None)  # nothing since the seek to 7
    marks.asked(0, at=42, end_offset=7)
    assert marks.read_until(0) == 42


def test_a_later_sample_beyond_the_position_waits() -> None:
    marks = ReadWatermarks()
    marks.fetched(0, position=5, last_returned=4)
    marks.processed(0, 4)
    marks.asked(0, at=10, end_offset=5)
    marks.asked(0, at=20, end_offset=9)  # four more committed by then
    assert marks.read_until(0) == 10
    marks.fetched(0, position=9, last_returned=8)
    assert marks.read_until(0) == 10  # handed over, not yet folded
    marks.processed(0, 8)
    assert marks.read_until(0) == 20


def test_forget_drops_what_a_rebalance_makes_stale() -> None:
    marks = ReadWatermarks()
    marks.fetched(1, position=3, last_returned=None)
    marks.asked(1, at=9, end_offset=3)
    assert marks.read_until(1) == 9
    marks.forget([1])
    assert marks.read_until(1) is None


@given(st.lists(st.integers(0, 3), min_size=1, max_size=60), st.data())
def test_never_ahead_of_the_log(steps: list[int], data: st.DataObject) -> None:
    """Simulated log, consumer and agent, in any interleaving: whenever the watermark says W,
    every record committed before W has been folded."""
    marks = ReadWatermarks()
    committed_at: list[int] = []  # instant each offset was committed
    fetched = folded = 0  # next offset to hand over / to fold
    clock = 0
    for step in steps:
        clock += 1
        if step == 0:  # a producer commits some records
            committed_at.extend([clock] * data.draw(st.integers(1, 3)))
        elif step == 1:  # the broker is asked where the log ends
            marks.asked(0, clock, len(committed_at))
            clock += 1  # the answer takes a while: records may be committed meanwhile
        elif step == 2 and fetched < len(committed_at):  # the consumer hands some over
            fetched = data.draw(st.integers(fetched + 1, len(committed_at)))
            marks.fetched(0, fetched, fetched - 1)
        elif step == 3 and folded < fetched:  # the agent folds some
            folded = data.draw(st.integers(folded + 1, fetched))
            marks.processed(0, folded - 1)
        until = marks.read_until(0)
        if until is not None:
            assert all(o < folded for o, at in enumerate(committed_at) if at < until)


def test_describe_names_what_holds_the_watermark() -> None:
    """A record handed over but not folded holds the partition: the line says which."""
    marks = ReadWatermarks()
    assert marks.describe(0, now=100) == "nothing known yet"
    marks.fetched(0, position=5, last_returned=4)
    marks.processed(0, 3)
    marks.asked(0, at=40, end_offset=5)
    line = marks.describe(0, now=100)
    assert line == ("position 5, last returned 4, last folded 3, read until never, "
                    "samples waiting 1 (oldest 60 ms old, end 5)")
    marks.processed(0, 4)
    marks.read_until(0)
    assert "read until 60 ms ago, samples waiting 0 (none)" in marks.describe(0, now=100)
