"""The worker's garbage-collection policy: freeze what is alive, every few seconds.

The worker holds every open contact in Python objects (decoded table entries, live-metrics
facts, the deadline heap): ~23 GC-tracked objects per contact. CPython's cyclic collector
walks all of them in a full (generation 2) collection, which it starts whenever the objects
that survived since the last one reach a quarter of the rest -- with new contacts arriving,
that is every few tens of seconds. Measured: a full collection over 100k contacts takes 1.05 s
(2.3M objects), and in bench/worker.py at 2,000 events/s these pauses made the breach-alert
latency p99 1.48 s (GC off: 0.29 s) and cost 22% of the worker's CPU per event (231 -> 179 us).

``gc.freeze()`` moves every object alive at that instant into a permanent generation that
collections skip; it is O(1). Done every ``worker_gc_freeze_s`` seconds, a full collection only
walks what was allocated since the last freeze. Objects frozen and later released are still
freed by reference counting; only garbage in a reference cycle that was alive at a freeze and
died after it is not reclaimed. :func:`unfrozen_garbage` counts that at shutdown (logged), and
docs/streams.md has the measured figure.
"""

from __future__ import annotations

import gc


def set_young_threshold(objects: int) -> None:
    """Young collections every ``objects`` net allocations of tracked objects (0: leave
    Python's 700). A batch keeps its records, datums and states alive until it is sent, and
    every 10th young collection starts a middle one, every 10th middle one a full one: at 700
    the worker's batch code ran one young collection per ~38 events and 48 full ones where
    100,000 ran 5 (docs/streams.md "Garbage collection"). The older generations' thresholds
    stay, so their ratios to the young one do."""
    if objects:
        _young, middle, old = gc.get_threshold()
        gc.set_threshold(objects, middle, old)


def freeze_alive() -> None:
    """Move every object the collector tracks now into the permanent generation."""
    gc.freeze()


#: Above this many frozen objects the shutdown count is skipped: a full collection walks
#: ~2.2M objects a second here, and a stop should not wait seconds for a diagnostic.
REPORT_MAX_OBJECTS = 3_000_000


def unfrozen_garbage() -> tuple[int, int | None]:
    """(objects that were frozen, unreachable objects a full collection then finds -- None
    when there were more than REPORT_MAX_OBJECTS): what the policy kept from the collector.
    Unfreezes, so call it at shutdown."""
    frozen = gc.get_freeze_count()
    if frozen > REPORT_MAX_OBJECTS:
        return frozen, None
    gc.collect()  # the garbage the collector could see anyway
    gc.unfreeze()
    return frozen, gc.collect()
