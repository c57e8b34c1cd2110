"""Publishing a tenant's next policy version: the rules a new version must meet, and the one
place that writes versions (the API and ``kontakt policy publish`` both call ``publish``).

The rules (``next_version``, pure: the publish instant is an argument):

- Numbering: the next version is the tenant's last + 1 (1 for its first).
- Lead time: ``effective_from`` is at least ``min_lead_ms`` (KONTAKT_POLICY_MIN_LEAD_S, 60 s)
  after the publish instant. The live worker must have read the version before the first
  contact it governs arrives: a contact is judged for its whole life by the version in force
  at its first event, so a version the worker learns of after such a contact started would
  judge that contact in a replay but not in the stream, and the two would disagree. A change
  "from now on" is published with ``effective_from`` omitted: publish instant + lead time.
- Order: ``effective_from`` is not earlier than the tenant's latest version's. An earlier date
  would slide the new version under the latest: the latest would come back into force at its
  own date, above the rules published after it, and (with a short lead time, or the clocks of
  two API replicas apart) contacts the latest version already judged would change their rules
  on replay. An equal date is allowed: the later number wins a tie, so it replaces a version
  that is not yet in force.

Concurrency (``PolicyPublisher``): one process publishes under a lock (read the history,
append, write), so two publishes through one API never take the same number. Several API
replicas, or the CLI beside the API, do not share that lock; the log's ``publish`` is a
compare-and-set instead (services/policies/log.py): a publish made on a history another writer
has since extended raises PolicyConflict (the API's 409) and leaves the other's version in
force. On Kafka there is no atomic compare-and-set, so it is a check after the write and a
repair (services/policies/kafka_log.py says how, and what it leaves open). The lead time is
what makes the repair safe: a record overwritten within it never judged a contact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from schemas.events import format_timestamp
from schemas.units import DAY_MS
from services.policies.log import PolicyConflict, PolicyLog
from streams.sla.policy import PolicyError
from streams.sla.versions import PolicyVersion, parse_version

__all__ = ["MAX_AHEAD_MS", "PolicyConflict", "PolicyPublisher", "next_version"]

MAX_AHEAD_MS = 10 * 365 * DAY_MS  # an effective_from further ahead is a typo (a year of 20260)


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g} s"


def next_version(history: Sequence[PolicyVersion], doc: Mapping[str, Any], *, tenant: str,
                 published_by: str, now_ms: int, min_lead_ms: int) -> PolicyVersion:
    """The version ``doc`` (a version document, streams/sla/versions.py) makes when published
    at ``now_ms`` on top of ``history``; PolicyError naming the field when it may not be."""
    number = (history[-1].version if history else 0) + 1
    source = f"{tenant} version {number}"
    if not isinstance(doc, Mapping):
        raise PolicyError(f"{source}: expected a table (object)")
    earliest = now_ms + min_lead_ms
    if doc.get("effective_from") is None:  # "from now on": as soon as the lead time allows
        doc = {**doc, "effective_from": earliest}
    try:
        version = parse_version(doc, tenant, number, source, published_by=published_by,
                                published_at=now_ms)
    except (TypeError, AttributeError) as exc:  # a shape the parser did not foresee
        raise PolicyError(f"{source}: malformed document ({type(exc).__name__}: {exc})") from None
    start = version.effective_from
    if start < earliest:
        raise PolicyError(
            f"{source}.effective_from: {_when(start)} is {_seconds(start - now_ms)} after its "
            f"publishing at {format_timestamp(now_ms)}; it must be at least "
            f"{_seconds(min_lead_ms)} later (KONTAKT_POLICY_MIN_LEAD_S), so that the live "
            "worker has read the version before the first contact it governs arrives and the "
            "stream judges as a replay does. Omit effective_from for 'from now on' "
            f"({format_timestamp(earliest)}).")
    if start - now_ms > MAX_AHEAD_MS:
        raise PolicyError(f"{source}.effective_from: {_when(start)} is more than ten years "
                          "ahead; check the year")
    if history:
        latest = max(history, key=lambda v: (v.effective_from, v.version))
        if start < latest.effective_from:
            raise PolicyError(
                f"{source}.effective_from: {format_timestamp(start)} is before version "
                f"{latest.version}'s ({format_timestamp(latest.effective_from)}); versions "
                "do not go back in time: version "
                f"{latest.version} would come back into force above this one at its date, and "
                "contacts it already judged could change their rules. Publish from "
                f"{format_timestamp(latest.effective_from)} on, or later.")
    return version


def _when(epoch_ms: int) -> str:
    try:
        return format_timestamp(epoch_ms)
    except (ValueError, OverflowError, OSError):
        return f"{epoch_ms} ms since the epoch"


class PolicyPublisher:
    """Publishes versions to a PolicyLog; one per process (it holds the process's lock)."""

    def __init__(self, log: PolicyLog, *, min_lead_ms: int, clock: Callable[[], int]) -> None:
        self.log = log
        self.min_lead_ms = min_lead_ms
        self._clock = clock  # epoch ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._clock()

    def publish(self, tenant: str, doc: Mapping[str, Any], *, published_by: str
                ) -> PolicyVersion:
        """Validate, number and store ``doc`` as the tenant's next version; returns it.
        PolicyError (the document or its date), PolicyLogUnavailable, PolicyConflict."""
        with self._lock:
            history = self.log.history(tenant)
            version = next_version(history, doc, tenant=tenant, published_by=published_by,
                                   now_ms=self._clock(), min_lead_ms=self.min_lead_ms)
            self.log.publish([*history, version])  # PolicyConflict: another came first
            return version
