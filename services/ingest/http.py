"""HTTP plumbing shared by the ingest routers: the per-app IngestService, the bounded body
reader, and the mapping of ingest outcomes onto status codes (4xx precise, 503 + Retry-After).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from services.ingest.pseudonym import Pseudonymizer, load_or_create_key
from services.ingest.service import (
    IngestConfig,
    IngestResult,
    IngestService,
    InvalidEvents,
    Unavailable,
)
from services.ingest.txn_ids import claim_slot, transactional_id
from services.ingest.validation import BodyError, EventError
from services.ingest.window import IdempotencyWindow
from services.ports import Publisher
from services.settings import Settings

_build_lock = threading.Lock()


def build_service(settings: Settings) -> IngestService:
    from services.adapters.kafka_publisher import KafkaPublisher
    from services.adapters.kafka_transactional import TransactionalPublisher

    timeout = settings.ingest_publish_timeout_s
    lease = None
    publisher: Callable[[], Publisher]
    if settings.ingest_transactions:
        lease = claim_slot(settings.data_dir / "ingest-slots")
        tid = transactional_id(settings.ingest_transactional_id, settings.data_dir, lease.slot)

        def publisher() -> Publisher:
            return TransactionalPublisher(
                settings.kafka_bootstrap,
                tid,
                producers=settings.ingest_producers,
                client_id="kontakt-ingest",
                max_block_s=min(5.0, timeout),
                request_timeout_s=timeout,
            )
    else:

        def publisher() -> Publisher:
            return KafkaPublisher(
                settings.kafka_bootstrap,
                client_id="kontakt-ingest",
                max_block_s=min(5.0, timeout),
                request_timeout_s=timeout,
            )

    return IngestService(
        IngestConfig(
            topic=settings.topic(settings.events_topic),
            max_future_skew_ms=settings.ingest_max_future_skew_s * 1000,
            publish_timeout_s=timeout,
            max_event_bytes=settings.ingest_max_event_bytes,
        ),
        publisher,
        Pseudonymizer(load_or_create_key(settings.pseudonym_key, settings.data_dir)),
        IdempotencyWindow(
            settings.ingest_idempotency_window_s, settings.ingest_idempotency_max_entries
        ),
        on_close=lease.release if lease is not None else None,
    )


def get_service(request: Request) -> IngestService:
    """One IngestService (one Kafka producer) per app, built on first use."""
    app = request.app
    service = getattr(app.state, "ingest", None)
    if service is None:
        with _build_lock:
            service = getattr(app.state, "ingest", None)
            if service is None:
                service = app.state.ingest = build_service(app.state.settings)
    return service


@asynccontextmanager
async def ingest_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Closes the app's producer (flushing what it holds) when the app shuts down."""
    yield
    service = getattr(app.state, "ingest", None)
    if service is not None:
        app.state.ingest = None
        await run_in_threadpool(service.close)


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it exceeds the configured limit."""
    limit = request.app.state.settings.ingest_max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(request: Request) -> dict[str, str]:
    return {"Retry-After": str(request.app.state.settings.ingest_retry_after_s)}


def result_json(result: IngestResult) -> dict[str, Any]:
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [e.as_json() for e in result.rejected],
    }


def errors_detail(message: str, errors: Sequence[EventError]) -> dict[str, Any]:
    return {"message": message, "errors": [e.as_json() for e in errors]}


async def ingest_items(
    request: Request, items: Sequence[object], tenant: str, partial: bool
) -> dict[str, Any]:
    """Validate + produce raw JSON events in a worker thread; map outcomes to HTTP."""
    service = get_service(request)
    try:
        result = await run_in_threadpool(service.ingest, items, tenant, partial)
    except InvalidEvents as exc:
        raise HTTPException(exc.status_code, errors_detail(str(exc), exc.errors)) from None
    except Unavailable as exc:
        raise HTTPException(
            503, f"Kafka did not take the events, retry later: {exc}", _retry_after(request)
        ) from None
    return result_json(result)


def body_error(exc: BodyError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))
