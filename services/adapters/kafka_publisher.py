"""The Publisher port on kafka-python: every record acknowledged by all in-sync replicas, or
PublishError -- never a silent loss and never an unbounded wait.

Bounds: publish() waits at most ``timeout_s`` for acknowledgements, plus at most
``max_block_s`` the first time it meets a topic whose metadata it has not seen (kafka-python
fetches metadata inside send()). A record that timed out may still be delivered later by the
producer's retries (until ``delivery_timeout_s``): callers that retry after a PublishError get
at-least-once delivery, so consumers de-duplicate by event id.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from services.ports import PublishError


def producer_config(
    bootstrap: str,
    client_id: str,
    max_block_s: float,
    request_timeout_s: float,
    linger_ms: int,
    **extra: Any,
) -> dict[str, Any]:
    """kafka-python producer settings both publishers share: acks from every replica, an
    idempotent producer, bounded waits, and no topic created by accident."""
    return {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": linger_ms,
        "max_block_ms": int(max_block_s * 1000),
        "bootstrap_timeout_ms": int(max_block_s * 1000),
        "request_timeout_ms": int(request_timeout_s * 1000),
        "reconnect_backoff_max_ms": 1000,
        "allow_auto_create_topics": False,
        **extra,
    }


class KafkaPublisher:
    """Thread-safe; the producer is created lazily so an API can start before its broker."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "kontakt",
        max_block_s: float = 5.0,
        request_timeout_s: float = 10.0,
        delivery_timeout_s: float = 30.0,
        linger_ms: int = 5,
    ) -> None:
        self._config = producer_config(
            bootstrap, client_id, max_block_s, request_timeout_s, linger_ms,
            delivery_timeout_ms=int(delivery_timeout_s * 1000),
        )
        self._producer: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self._failed_at = float("-inf")  # when creating the producer last failed, and why
        self._failure = ""

    def publish(
        self,
        topic: str,
        records: Sequence[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float = 10.0,
    ) -> None:
        """Send (key, value) pairs in order and wait until the broker acked every one."""
        from kafka.errors import KafkaError

        if not records:
            return
        deadline = time.monotonic() + timeout_s
        producer = self._get_producer()
        header_list = list(headers) or None
        try:
            futures = []
            for key, value in records:
                # send() blocks (up to max_block_s) only while it lacks the topic's metadata
                futures.append(producer.send(topic, key=key, value=value, headers=header_list))
                if time.monotonic() > deadline:
                    raise PublishError(f"{topic}: records not even queued within {timeout_s:g} s")
            for future in futures:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublishError(
                        f"{topic}: not every record acknowledged within {timeout_s:g} s"
                    )
                future.get(timeout=remaining)
        except KafkaError as exc:
            raise PublishError(f"{topic}: {exc}") from exc

    def close(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is not None:
            _close_producer(producer, timeout_s)

    def _get_producer(self) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        asked = time.monotonic()
        with self._lock:
            if self._closed:
                raise PublishError("publisher is closed")
            if self._producer is None:
                if self._failed_at >= asked:
                    # Another thread tried (for up to max_block_s) while this one waited for
                    # the lock: share its answer instead of queueing up one attempt per caller.
                    raise PublishError(self._failure)
                try:
                    self._producer = KafkaProducer(**self._config)
                except KafkaError as exc:
                    self._failed_at = time.monotonic()
                    self._failure = (
                        f"cannot reach Kafka at {self._config['bootstrap_servers']}: {exc}"
                    )
                    raise PublishError(self._failure) from exc
            return self._producer


def _close_producer(producer: Any, timeout_s: float) -> None:
    """Close within ``timeout_s`` even with records still pending (broker down).

    kafka-python 3.0.12's close() raises KafkaTimeoutError from its own flush() when records
    cannot be delivered, before it reaches its force-close step, which leaves the sender thread
    running. Do that step here: abort the pending batches, stop the thread, then close.
    """
    from kafka.errors import KafkaError

    try:
        producer.close(timeout=timeout_s)
        return
    except KafkaError:
        pass
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(timeout_s)
    with contextlib.suppress(KafkaError):
        producer.close(timeout=0)
