"""A partition whose deadlines are held back is logged with what holds it, rate-limited."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from streams.judgement import HELD_BACK_WARN_MS, WARN_EVERY_MS, warn_held_back
from streams.watermarks import ReadWatermarks


def _worker() -> Any:
    marks = ReadWatermarks()
    marks.fetched(0, position=5, last_returned=4)
    marks.processed(0, 3)  # record 4 handed over, never folded: partition 0 is stuck
    events = SimpleNamespace(get_topic_name=lambda: "contact-events")
    return SimpleNamespace(watermarks=marks, events=events, held_back_warned={})


def test_a_partition_held_back_is_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = _worker()
    start = 1_000_000
    caplog.set_level(logging.WARNING, logger="streams.judgement")
    warn_held_back(worker, [0, 1], {1: start}, start)  # first sight: a start, not yet a fault
    assert caplog.records == []
    later = start + WARN_EVERY_MS + 1
    warn_held_back(worker, [0, 1], {0: later - HELD_BACK_WARN_MS - 1, 1: later}, later)
    [record] = caplog.records
    assert "partition 0 held back (judged 15.0 s behind): position 5, last returned 4, " \
        "last folded 3" in record.getMessage()
    warn_held_back(worker, [0, 1], {1: later + 1}, later + 1)  # within the interval: quiet
    assert len(caplog.records) == 1
    again = later + WARN_EVERY_MS + 1
    warn_held_back(worker, [0, 1], {1: again}, again)
    assert "partition 0 held back (never judged)" in caplog.records[-1].getMessage()
    assert all("partition 1" not in r.getMessage() for r in caplog.records)
