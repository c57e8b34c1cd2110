"""Where simulated events go: NDJSON (file or stdout), Kafka, or the ingest API; and the pump
that feeds a sink as fast as possible (history) or paced to the wall clock (demo).

The generator stays pure; wall-clock time enters only here, through an injectable clock and
sleep so that the pacing is testable without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, Protocol

import orjson

from schemas.events import ContactEvent, event_to_json
from services.ports import Publisher, PublishError


class SinkError(RuntimeError):
    """The destination did not take a batch (broker unavailable, API rejected or down)."""


class Sink(Protocol):
    def write(self, events: list[ContactEvent]) -> None: ...

    def close(self) -> None: ...


def ndjson_line(event: ContactEvent) -> bytes:
    """One canonical JSON line; orjson keeps event_to_json's key order, so bytes are stable."""
    return orjson.dumps(event_to_json(event)) + b"\n"


class NdjsonSink:
    """Writes NDJSON to a binary stream (a file, or stdout's buffer)."""

    def __init__(self, stream: IO[bytes], close_stream: bool = False) -> None:
        self.stream = stream
        self.close_stream = close_stream

    def write(self, events: list[ContactEvent]) -> None:
        self.stream.write(b"".join(ndjson_line(e) for e in events))
        self.stream.flush()

    def close(self) -> None:
        if self.close_stream:
            self.stream.close()


class KafkaSink:
    """Publishes Avro single-object records keyed by contact_id (one partition per contact,
    so a contact's events stay in order) and waits for the broker's acknowledgement."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        from schemas.codec import encode_event  # fastavro stays out of the NDJSON path

        self.encode = encode_event
        self.publisher = publisher
        self.topic = topic

    def write(self, events: list[ContactEvent]) -> None:
        records = [(e.contact_id.encode(), self.encode(e)) for e in events]
        try:
            self.publisher.publish(self.topic, records)
        except PublishError as exc:
            raise SinkError(str(exc)) from exc

    def close(self) -> None:
        self.publisher.close()


class ApiSink:
    """Posts NDJSON batches to the ingest API through services.client.KontaktClient. An API
    key belongs to one tenant, so events go through the client of their tenant (or the
    default client when one key serves every simulated tenant)."""

    def __init__(self, clients: Mapping[str, Any], default: Any | None = None) -> None:
        self.clients = dict(clients)
        self.default = default

    def write(self, events: list[ContactEvent]) -> None:
        from services.client import IngestRejected, IngestUnavailable

        by_tenant: dict[str, list[bytes]] = {}
        for e in events:
            by_tenant.setdefault(e.tenant, []).append(orjson.dumps(event_to_json(e)))
        for tenant, lines in by_tenant.items():
            client = self.clients.get(tenant, self.default)
            if client is None:
                raise ValueError(f"no API key for tenant {tenant!r}")
            try:
                client.send_ndjson(lines)
            except (IngestRejected, IngestUnavailable) as exc:
                raise SinkError(f"tenant {tenant}: {exc}") from exc

    def close(self) -> None:
        for client in {id(c): c for c in [*self.clients.values(), self.default] if c}.values():
            client.close()


class Pacer:
    """Maps simulated instants to wall-clock instants: ``speed`` simulated seconds per second.
    ``clock`` and ``sleep`` are injected so tests run instantly."""

    def __init__(
        self,
        sim_start_ms: int,
        speed: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.sim_start_ms = sim_start_ms
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self.wall_start = clock()

    def delay(self, occurred_at: int) -> float:
        """Seconds to wait before ``occurred_at`` is due (<= 0 when already due)."""
        due = self.wall_start + (occurred_at - self.sim_start_ms) / 1000.0 / self.speed
        return due - self.clock()


def pump(
    events: Iterable[ContactEvent],
    sink: Sink,
    batch_size: int = 1000,
    pacer: Pacer | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Feed ``events`` to ``sink`` in batches; with a pacer, each event waits for its instant
    (the pending batch is flushed before sleeping so nothing sits in memory while the wall
    clock catches up). Returns the number of events written."""
    batch: list[ContactEvent] = []
    written = 0

    def flush() -> None:
        nonlocal written, batch
        if batch:
            sink.write(batch)
            written += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
            batch = []

    for event in events:
        if pacer is not None:
            wait = pacer.delay(event.occurred_at)
            if wait > 0:
                flush()
                pacer.sleep(wait)
        batch.append(event)
        if len(batch) >= batch_size:
            flush()
    flush()
    return written
