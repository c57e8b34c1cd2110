"""The small Protocols the services talk to. Adapters in services.adapters implement them;
each Protocol has one contract test suite under tests/contract run against real backends."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol


class Publisher(Protocol):
    """Sends keyed records to a topic and returns only once the broker acknowledged all."""

    def publish(
        self,
        topic: str,
        records: Sequence[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float = 10.0,
    ) -> None:
        """Publish (key, value) pairs in order; raise PublishError unless every one is acked."""
        ...

    def close(self) -> None: ...


class PublishError(RuntimeError):
    """The broker did not acknowledge every record (unavailable, slow, or rejected)."""


class PublishUncertain(PublishError):
    """A transactional publish whose commit was sent but not answered in time: the records
    may yet become visible. ``outcome(timeout_s)`` waits for the broker's answer: True
    committed, False not committed, None still unknown (given up)."""

    def __init__(self, message: str, outcome: Callable[[float], bool | None]) -> None:
        super().__init__(message)
        self.outcome = outcome


class Warehouse(Protocol):
    """ClickHouse, embedded (chdb) or a server (clickhouse-driver)."""

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (DDL, INSERT ... SELECT)."""
        ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a SELECT and return its rows. Parameters are bound, never spliced into SQL."""
        ...

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows in one batch (columnar, not SQL text)."""
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
