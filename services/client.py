"""A small Python client for integrators: send contact events to the Kontakt ingest API.

    from services.client import KontaktClient
    with KontaktClient("http://kontakt:8000", api_key="kk_...") as client:
        totals = client.send_all(events)        # dicts in the canonical JSON form

Batches go as NDJSON. A 503 (Kafka unavailable) or a broken connection is retried with the
same events after Retry-After: safe, because the API does not produce an event_id twice
within its idempotency window. A 4xx is not retried: IngestRejected carries the API's message
and the per-event errors (index, field, reason).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson


class IngestRejected(Exception):
    def __init__(self, status_code: int, detail: Any) -> None:
        self.status_code = status_code
        self.detail = detail
        self.errors: list[dict[str, Any]] = (
            detail.get("errors", []) if isinstance(detail, dict) else []
        )
        message = detail.get("message", detail) if isinstance(detail, dict) else detail
        shown = "; ".join(
            f"event {e['index']}: {e['field']}: {e['reason']}" for e in self.errors[:5]
        )
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"HTTP {status_code}: {message}" + (f" -- {shown}{more}" if shown else ""))


class IngestUnavailable(Exception):
    """The API kept answering 503 (or could not be reached) through every retry."""


@dataclass
class Totals:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    requests: int = 0
    retries: int = 0


def batches(lines: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    """Group NDJSON lines (blank ones dropped) into lists of at most ``size``."""
    batch: list[bytes] = []
    for line in lines:
        if line.strip():
            batch.append(line.rstrip(b"\r\n"))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


class KontaktClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 8,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )
        self.max_retries = max_retries
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self.retries = 0

    def __enter__(self) -> KontaktClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, content: bytes, content_type: str, **params: Any) -> Any:
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.post(
                    path, content=content, headers={"Content-Type": content_type}, params=params
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                wait = delay
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code != 503:
                    try:
                        detail = response.json().get("detail")
                    except ValueError:
                        detail = response.text
                    raise IngestRejected(response.status_code, detail)
                problem = response.text
                retry_after = response.headers.get("Retry-After", "")
                wait = float(retry_after) if retry_after.isdigit() else delay
            if attempt == self.max_retries:
                break
            self.retries += 1
            self._sleep(min(wait, self.max_backoff_s))
            delay = min(delay * 2, self.max_backoff_s)
        raise IngestUnavailable(f"gave up after {self.max_retries + 1} attempts: {problem}")

    def send_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """One event; returns {"accepted", "duplicates", "rejected"}."""
        return self._post("/ingest/events", orjson.dumps(event), "application/json")

    def send_ndjson(self, lines: Sequence[bytes], partial: bool = False) -> dict[str, Any]:
        """One batch of NDJSON lines (already-serialized events)."""
        body = b"\n".join(lines) + b"\n"
        params = {"partial": "true"} if partial else {}
        return self._post("/ingest/events/batch", body, "application/x-ndjson", **params)

    def send_batch(self, events: Sequence[dict[str, Any]], partial: bool = False) -> dict[str, Any]:
        return self.send_ndjson([orjson.dumps(e) for e in events], partial)

    def send_all(
        self,
        events: Iterable[dict[str, Any]] | Iterable[bytes],
        batch_size: int = 10_000,
        partial: bool = False,
        on_batch: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> Totals:
        """Send everything in batches; ``on_batch(n_events, result)`` after each one."""
        totals = Totals()
        lines = (e if isinstance(e, bytes) else orjson.dumps(e) for e in events)
        for batch in batches(lines, batch_size):
            result = self.send_ndjson(batch, partial)
            totals.requests += 1
            totals.accepted += result["accepted"]
            totals.duplicates += result["duplicates"]
            totals.rejected += len(result["rejected"])
            if on_batch is not None:
                on_batch(len(batch), result)
        totals.retries = self.retries
        return totals
