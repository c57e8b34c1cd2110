"""POST /ingest/adapters/{asterisk,email,queue-ticket,web-form}: channel payloads mapped onto
the vocabulary, then validated, pseudonymized and produced like any event."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from schemas.events import Kind
from services.analytics.filters import TOKEN
from services.auth import Principal, Scope, require_scope
from services.ingest.adapters import AdapterError, asterisk, rfc5322, ticket, webform
from services.ingest.http import errors_detail, ingest_items, read_body
from services.ingest.openapi import (
    ASTERISK_BODY,
    EMAIL_BODY,
    ERROR_RESPONSES,
    TICKET_BODY,
    WEB_FORM_BODY,
    body,
)
from services.ingest.validation import EventError

router = APIRouter(prefix="/adapters", tags=["ingest adapters"])
Ingestor = Annotated[Principal, Depends(require_scope(Scope.INGEST))]
Region = Annotated[str, Query(min_length=1, max_length=64, description="Region of the source.",
                              json_schema_extra={"pattern": TOKEN.pattern},
                              examples=["tver"])]
KindQ = Annotated[Kind | None, Query(description="Kind of every contact from this source.")]


def _adapter_error(exc: AdapterError) -> HTTPException:
    error = EventError(exc.index, exc.field, exc.reason)
    return HTTPException(422, errors_detail(f"cannot map the payload: {exc}", [error]))


async def _json(request: Request) -> Any:
    raw = await read_body(request)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"malformed JSON: {exc}") from None


async def _text(request: Request) -> str:
    raw = await read_body(request)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"body is not UTF-8: {exc}") from None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@router.post(
    "/asterisk",
    summary="Asterisk queue events (QueueCallerJoin, AgentConnect, QueueCallerAbandon)",
    openapi_extra=body(ASTERISK_BODY),
    responses=ERROR_RESPONSES,
)
async def asterisk_events(
    request: Request, principal: Ingestor, region: Region, kind: KindQ = None
) -> dict[str, Any]:
    """JSON (an AMI event object or an array) or text/plain raw AMI blocks."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    payload = await (_text(request) if media.startswith("text/") else _json(request))
    try:
        events, ignored = asterisk.map_payload(
            payload, region=region, kind=kind.value if kind else None, now_ms=_now_ms()
        )
    except AdapterError as exc:
        raise _adapter_error(exc) from None
    result = (
        await ingest_items(request, events, principal.tenant, partial=False)
        if events
        else {"accepted": 0, "duplicates": 0, "rejected": []}
    )
    return {**result, "ignored": ignored}


@router.post(
    "/email",
    summary="An RFC 5322 message (headers only) received by a mailbox",
    openapi_extra=body(EMAIL_BODY, "message/rfc822", "text/plain"),
    responses=ERROR_RESPONSES,
)
async def email_message(
    request: Request,
    principal: Ingestor,
    region: Region,
    kind: KindQ = None,
    mailbox: Annotated[str | None, Query(max_length=64, description="Receiving queue.")] = None,
) -> dict[str, Any]:
    raw = await _text(request)
    try:
        event = rfc5322.map_message(
            raw, region=region, kind=kind.value if kind else None, mailbox=mailbox
        )
    except AdapterError as exc:
        raise _adapter_error(exc) from None
    if event is None:
        return {"accepted": 0, "duplicates": 0, "rejected": [], "ignored": 1}
    return {**await ingest_items(request, [event], principal.tenant, False), "ignored": 0}


@router.post(
    "/queue-ticket",
    summary="Office electronic-queue ticket webhook (created, called, completed, no-show)",
    openapi_extra=body(TICKET_BODY),
    responses=ERROR_RESPONSES,
)
async def queue_ticket(request: Request, principal: Ingestor, region: Region) -> dict[str, Any]:
    payload = await _json(request)
    try:
        event = ticket.map_webhook(payload, region=region)
    except AdapterError as exc:
        raise _adapter_error(exc) from None
    return await ingest_items(request, [event], principal.tenant, partial=False)


@router.post(
    "/web-form",
    summary="Web-form submission from the utility's site",
    openapi_extra=body(WEB_FORM_BODY),
    responses=ERROR_RESPONSES,
)
async def web_form(request: Request, principal: Ingestor, region: Region) -> dict[str, Any]:
    payload = await _json(request)
    try:
        event = webform.map_submission(payload, region=region)
    except AdapterError as exc:
        raise _adapter_error(exc) from None
    return await ingest_items(request, [event], principal.tenant, partial=False)
