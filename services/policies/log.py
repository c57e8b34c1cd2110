"""The PolicyLog port: where a tenant's policy versions are kept, and an in-memory one for tests.

A log holds, per tenant, the tenant's whole history of versions (oldest first). ``publish``
replaces it with a longer history: the ``policies`` topic is compacted and keeps only the last
record per tenant, so every record carries the whole history (streams/sla/versions.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from streams.sla.versions import PolicyVersion


class PolicyLogUnavailable(RuntimeError):
    """The log could not be read or written (broker down, topic missing, timed out)."""


class PolicyLog(Protocol):
    def history(self, tenant: str) -> list[PolicyVersion]:
        """The tenant's versions, oldest first; [] for a tenant that never published one."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant with at least one version, sorted."""
        ...

    def publish(self, history: Sequence[PolicyVersion]) -> None:
        """Make ``history`` (one tenant's, newest last) the tenant's; returns once it is stored
        (on Kafka: acknowledged by every in-sync replica). PolicyLogUnavailable otherwise."""
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
        with self._lock:
            self._histories[history[-1].tenant] = tuple(history)
