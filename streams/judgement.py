"""The faust edge of judging deadlines against the log (docs/streams.md "Judged against the
log"): the read watermarks (streams.watermarks) fed from the consumer thread's fetch state and
the agent's folded offsets, and the end-offset samples asked of the broker every tick."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from streams.log_ends import LogEnds
from streams.worker import now_ms

if TYPE_CHECKING:
    from streams.worker import Worker

log = logging.getLogger(__name__)

#: The judgement instant of a partition whose read watermark is not known yet: open clocks
#: are measured up to their start, so nothing is warned or breached until it is.
NOT_JUDGED = 0
#: A partition judged further behind ``now`` than this is logged, at most every WARN_EVERY_MS.
HELD_BACK_WARN_MS = 15_000
WARN_EVERY_MS = 30_000


def judgement(worker: Worker, now: int) -> dict[int, int] | None:
    """Partition of the events topic -> the instant its open clocks are judged at: its read
    watermark capped by ``now`` (streams.watermarks), from the consumer thread's fetch state.
    None when the worker judges by the wall clock alone (``worker_judge_by_log`` off)."""
    if not worker.settings.worker_judge_by_log:
        return None
    fetch_state = getattr(worker.app.consumer, "fetch_state", None)
    if fetch_state is None:  # not the read_committed transport (a test's app): wall clock
        return None
    events = worker.events.get_topic_name()
    marks = worker.watermarks
    partitions = []
    for (topic, partition), (position, last) in fetch_state().items():
        if topic == events:
            marks.fetched(partition, position, last)
            partitions.append(partition)
    judged = marks.judged_at(partitions, now)
    warn_held_back(worker, partitions, judged, now)
    return judged


def warn_held_back(worker: Worker, partitions: list[int], judged: dict[int, int],
                   now: int) -> None:
    """Log a partition whose deadlines have been held back more than HELD_BACK_WARN_MS, with
    what holds its watermark (streams.watermarks.describe), at most every WARN_EVERY_MS: a
    backlog being read says so, and a watermark stuck while nothing is left to read is a bug
    the line shows the state of."""
    warned = worker.held_back_warned
    for p in partitions:
        behind = now - judged.get(p, NOT_JUDGED)
        # first sight counts as a warning: a worker starting is not judged for a moment
        if behind > HELD_BACK_WARN_MS and now - warned.setdefault(p, now) > WARN_EVERY_MS:
            warned[p] = now
            behind_s = "never judged" if p not in judged else f"judged {behind / 1000:.1f} s behind"
            log.warning("deadlines of %s partition %d held back (%s): %s",
                        worker.events.get_topic_name(), p, behind_s,
                        worker.watermarks.describe(p, now))


async def sample_log_ends(worker: Worker) -> None:
    """Ask the broker where each assigned events partition ends (its last stable offset), and
    note the instant the question was sent: every record committed before it lies below.

    Through a client of its own on the worker's loop (streams.log_ends), not faust's consumer:
    that one serves its thread's calls one at a time, behind a fetch that waits up to a second
    for records, so its answers would come (and breaches be judged) a second late."""
    if not worker.ready or worker.app.should_stop:
        return
    events = worker.events.get_topic_name()
    try:
        partitions = [tp.partition for tp in worker.app.consumer.assignment()
                      if tp.topic == events]
        if not partitions:
            return
        if worker.log_ends is None:
            worker.log_ends = LogEnds(worker.settings.kafka_bootstrap, events)
        asked = now_ms()
        ends = await worker.log_ends.ends(partitions)
    except Exception as exc:  # broker away: no sample, deadlines wait (never judged early)
        log.warning("cannot read the end offsets of %s: %s", events, exc)
        return
    marks = worker.watermarks
    for partition, end in ends.items():
        marks.asked(partition, asked, end)
    if worker.telemetry is not None:  # the end less what is folded (unknown: not reported)
        worker.telemetry.lag({p: end - read for p, end in ends.items()
                            if (read := marks.read_offset(p)) is not None})
