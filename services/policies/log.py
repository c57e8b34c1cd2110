"""The PolicyLog port: where a tenant's policy versions are kept, and an in-memory one for tests.

A log holds, per tenant, the tenant's whole history of versions (oldest first). ``publish``
replaces it with a longer history: the ``policies`` topic is compacted and keeps only the last
record per tenant, so every record carries the whole history (streams/sla/versions.py).

``publish(history)`` is a compare-and-set: it appends ``history[-1]`` on top of
``history[:-1]``, which must be the tenant's history as the log holds it, else PolicyConflict
and the log keeps the other writer's history.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from streams.sla.versions import PolicyVersion


class PolicyLogUnavailable(RuntimeError):
    """The log could not be read or written (broker down, topic missing, timed out)."""


class PolicyConflict(RuntimeError):
    """Another writer changed the tenant's history between our read and our write; ours is not
    in force (the other's is kept)."""


def same_history(a: Sequence[PolicyVersion], b: Sequence[PolicyVersion]) -> bool:
    """Equal as published: the same numbers, publish instants and authors, in order."""
    def ids(h: Sequence[PolicyVersion]) -> list[tuple[int, int, str]]:
        return [(v.version, v.published_at, v.published_by) for v in h]
    return ids(a) == ids(b)


def conflict(tenant: str, expected: Sequence[PolicyVersion],
             found: Sequence[PolicyVersion]) -> PolicyConflict:
    theirs = found[-1] if found else None
    by = (f": version {theirs.version} by {theirs.published_by!r}"
          if theirs is not None and len(found) >= len(expected) else "")
    return PolicyConflict(
        f"{tenant}: another publisher changed the versions since they were read{by}; yours "
        "is not in force. Read the versions again and publish yours on top.")


class PolicyLog(Protocol):
    def history(self, tenant: str) -> list[PolicyVersion]:
        """The tenant's versions, oldest first; [] for a tenant that never published one."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant with at least one version, sorted."""
        ...

    def publish(self, history: Sequence[PolicyVersion]) -> None:
        """Append ``history[-1]`` to the tenant's history, which must be ``history[:-1]``
        (else PolicyConflict); returns once it is stored (on Kafka: acknowledged by every
        in-sync replica). PolicyLogUnavailable when it could not be stored."""
        ...


class InMemoryPolicyLog:
    """A PolicyLog in a dict. ``down = True`` makes every call fail as a stopped broker would."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._histories: dict[str, tuple[PolicyVersion, ...]] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise PolicyLogUnavailable("the policy log is down (in-memory, for tests)")

    def history(self, tenant: str) -> list[PolicyVersion]:
        self._check()
        with self._lock:
            return list(self._histories.get(tenant, ()))

    def tenants(self) -> list[str]:
        self._check()
        with self._lock:
            return sorted(self._histories)

    def publish(self, history: Sequence[PolicyVersion]) -> None:
        self._check()
        if not history:
            raise ValueError("publish needs at least one version")
        tenant = history[-1].tenant
        with self._lock:
            current = self._histories.get(tenant, ())
            if not same_history(current, history[:-1]):
                raise conflict(tenant, history[:-1], current)
            self._histories[tenant] = tuple(history)
