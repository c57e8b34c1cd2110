"""Ingest endpoints: POST /ingest/events (one event), POST /ingest/events/batch (JSON array or
NDJSON), and the channel adapters under /ingest/adapters/... (services.ingest.adapters.routes).

2xx means Kafka acknowledged every new event of the request; 503 + Retry-After means nothing
is promised; 4xx names what is wrong (per event: index, field, reason)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.auth import Principal, Scope, require_scope
from services.ingest.adapters.routes import router as adapters_router
from services.ingest.http import body_error, ingest_items, ingest_lifespan, read_body
from services.ingest.openapi import ERROR_RESPONSES, EVENT_SCHEMA, RESULT_SCHEMA, body
from services.ingest.validation import BodyError, parse_batch, parse_single

router = APIRouter(prefix="/ingest", tags=["ingest"], lifespan=ingest_lifespan)
Ingestor = Annotated[Principal, Depends(require_scope(Scope.INGEST))]
RESPONSES = {200: {"content": {"application/json": {"schema": RESULT_SCHEMA}}}, **ERROR_RESPONSES}


@router.post(
    "/events",
    summary="Ingest one contact event",
    openapi_extra=body(EVENT_SCHEMA),
    responses=RESPONSES,
)
async def ingest_event(request: Request, principal: Ingestor) -> dict[str, Any]:
    """One event as a JSON object. Answers after Kafka acknowledged it (or it was a retry)."""
    raw = await read_body(request)
    try:
        items = parse_single(raw)
    except BodyError as exc:
        raise body_error(exc) from None
    return await ingest_items(request, items, principal.tenant, partial=False)


@router.post(
    "/events/batch",
    summary="Ingest a batch of contact events",
    openapi_extra=body(
        {"type": "array", "items": EVENT_SCHEMA, "minItems": 1},
        "application/json",
    )
    | {"x-also-accepts": "application/x-ndjson (one event object a line)"},
    responses=RESPONSES,
)
async def ingest_batch(
    request: Request,
    principal: Ingestor,
    partial: Annotated[
        bool,
        Query(
            description="Produce the valid events and report the invalid ones instead of "
            "rejecting the whole batch."
        ),
    ] = False,
) -> dict[str, Any]:
    """A JSON array or NDJSON. With errors nothing is produced, unless partial=true."""
    raw = await read_body(request)
    settings = request.app.state.settings
    try:
        items = parse_batch(
            raw, request.headers.get("content-type", ""), settings.ingest_max_batch_events
        )
    except BodyError as exc:
        raise body_error(exc) from None
    return await ingest_items(request, items, principal.tenant, partial)


router.include_router(adapters_router)
