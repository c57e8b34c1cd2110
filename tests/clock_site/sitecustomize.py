"""Loaded only under ``python -m tests.clock_sweep`` (it puts this folder on PYTHONPATH).

libfaketime 0.9.10 (Debian's) turns an absolute sleep on the monotonic clock, which is how
CPython 3.11's ``time.sleep`` sleeps, into EINVAL. A sleep built on ``select``'s relative
timeout passes through it unchanged, so every Python process of a swept run sleeps that way.
"""

from __future__ import annotations

import os
import select
import time

if "FAKETIME" in os.environ:

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep  # type: ignore[assignment]
