"""Lengths of time in the unit of every instant in Kontakt: epoch milliseconds (UTC).

One definition for the whole platform (the core, the worker, the services, the simulator)."""

from __future__ import annotations

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
