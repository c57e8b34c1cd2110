"""Ingest use case: validated events -> Avro -> Kafka, acknowledged before we answer.

Synchronous on purpose (kafka-python); the API runs it in a worker thread. It answers only
when every new event of the request was acknowledged by Kafka (acks=all), raises
Unavailable otherwise, and never publishes anything for a request with errors unless the
caller asked for partial acceptance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemas.codec import encode_event
from schemas.events import ContactEvent
from services.ingest.pseudonym import Pseudonymizer
from services.ingest.validation import EdgeContext, EventError, prepare
from services.ingest.window import IdempotencyWindow, Key, WindowBusy
from services.metrics.ingest import PRODUCED, PUBLISH_FAILURES
from services.ports import Publisher, PublishError, PublishUncertain


class InvalidEvents(Exception):
    def __init__(self, status_code: int, errors: list[EventError], total: int) -> None:
        self.status_code = status_code
        self.errors = errors
        noun = "event is" if len(errors) == 1 else "events are"
        count = len({e.index for e in errors})
        super().__init__(f"{count} of {total} {noun} invalid; nothing was produced")


class Unavailable(Exception):
    """Kafka did not acknowledge every event in time; nothing of the request is promised."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int  # produced and acknowledged now
    duplicates: int  # already produced (same event_id within the window or the request)
    rejected: list[EventError] = field(default_factory=list)  # only with partial acceptance


@dataclass(frozen=True, slots=True)
class IngestConfig:
    topic: str
    max_future_skew_ms: int
    publish_timeout_s: float
    max_event_bytes: int = 1_000_000


class IngestService:
    """``publisher_factory`` builds the Kafka producer; after a failed publish the producer is
    replaced and the old one force-closed, which drops the records it still holds. A 503 then
    means "not produced" (and not "maybe produced later behind the client's back"), so the
    client's retry does not produce them twice; it also clears a producer whose idempotence
    state got stuck on expired batches across a broker restart (seen with kafka-python).

    A transactional publisher (``heals_itself``) replaces its own failed producers -- the new
    one fences the old and aborts what it half-wrote -- so it is not rebuilt here. When its
    commit went unanswered (PublishUncertain) the request's ids stay *pending* in the window
    until the broker tells the outcome: a retry meanwhile waits or gets 503, and afterwards is
    a duplicate (committed) or produced (not committed) -- never produced twice."""

    # How long a commit's fate is awaited (the broker may be away all that time) before the
    # ids are released; a retry after that produces the events -- a duplicate only if the
    # broker, back later still, turns out to have committed them.
    uncertain_wait_s = 300.0

    def __init__(
        self,
        config: IngestConfig,
        publisher_factory: Callable[[], Publisher],
        pseudonymizer: Pseudonymizer,
        window: IdempotencyWindow,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._on_close = on_close
        self._publisher_factory = publisher_factory
        self.publisher = publisher_factory()
        self._swap_lock = threading.Lock()
        self.pseudonymizer = pseudonymizer
        self.window = window
        self._clock_ms = clock_ms

    def _replace_publisher(self, failed: Publisher) -> None:
        with self._swap_lock:
            if self.publisher is not failed:
                return  # another request replaced it already
            self.publisher = self._publisher_factory()
        try:
            failed.close(timeout_s=0)  # type: ignore[call-arg]  # KafkaPublisher: drop buffered
        except TypeError:  # a Publisher without a timeout
            failed.close()

    def _settle_later(self, uncertain: PublishUncertain, keys: list[Key]) -> None:
        """Keep ``keys`` pending until the commit's outcome is known, in a daemon thread."""

        def settle() -> None:
            try:
                committed = uncertain.outcome(self.uncertain_wait_s)
            except Exception:  # never leave the ids pending for good
                committed = None
            if committed:
                self.window.commit(keys)
            else:  # not committed -- or unknown after the wait: a retry may produce them
                self.window.release(keys)

        threading.Thread(target=settle, name="ingest-commit-outcome", daemon=True).start()

    def close(self) -> None:
        try:
            self.publisher.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    def ingest(self, items: Sequence[object], tenant: str, partial: bool = False) -> IngestResult:
        ctx = EdgeContext(
            tenant=tenant,
            now_ms=self._clock_ms(),
            max_future_skew_ms=self.config.max_future_skew_ms,
            pseudonymizer=self.pseudonymizer,
            max_event_bytes=self.config.max_event_bytes,
        )
        prepared = prepare(items, ctx)
        if prepared.foreign:
            raise InvalidEvents(403, prepared.foreign, len(items))
        if prepared.errors and not partial:
            raise InvalidEvents(422, prepared.errors, len(items))
        return self.publish([event for _, event in prepared.events], prepared.errors)

    def publish(
        self, events: Sequence[ContactEvent], rejected: list[EventError] | None = None
    ) -> IngestResult:
        """Produce the events not produced before; commit their ids only once Kafka acked."""
        by_key = {(e.tenant, e.event_id): e for e in reversed(events)}  # first occurrence wins
        started = time.monotonic()
        try:
            reservation = self.window.reserve(
                list(dict.fromkeys((e.tenant, e.event_id) for e in events)),
                self.config.publish_timeout_s,
            )
        except WindowBusy as exc:
            raise Unavailable(str(exc)) from None
        fresh = [by_key[key] for key in reservation.fresh]
        publisher = self.publisher
        try:
            records = [(e.contact_id.encode(), encode_event(e)) for e in fresh]
            remaining = self.config.publish_timeout_s - (time.monotonic() - started)
            if records and remaining <= 0:
                raise Unavailable("no time left to publish after waiting for a concurrent retry")
            publisher.publish(self.config.topic, records, timeout_s=remaining)
        except PublishUncertain as exc:
            PUBLISH_FAILURES.inc()
            self._settle_later(exc, reservation.fresh)
            raise Unavailable(str(exc)) from exc
        except PublishError as exc:
            PUBLISH_FAILURES.inc()
            self.window.release(reservation.fresh)
            if not getattr(publisher, "heals_itself", False):
                self._replace_publisher(publisher)
            raise Unavailable(str(exc)) from exc
        except Exception as exc:
            PUBLISH_FAILURES.inc()
            self.window.release(reservation.fresh)
            if publisher is not self.publisher:  # force-closed under us by a concurrent failure
                raise Unavailable(f"the producer was reset: {type(exc).__name__}: {exc}") from exc
            raise
        except BaseException:
            self.window.release(reservation.fresh)
            raise
        self.window.commit(reservation.fresh)
        if fresh:
            PRODUCED.labels(self.config.topic).inc(len(fresh))
        return IngestResult(
            accepted=len(fresh), duplicates=len(events) - len(fresh), rejected=rejected or []
        )
