"""The board's data API: snapshot, live stream (Server-Sent Events), acknowledgements,
follow-ups and staffing advice. Every endpoint needs a read-scoped key (services.board.session)
and only ever shows the key's own tenant -- except ``storms=region``, the region-wide storm view
(every tenant's storms of the regions shown), which needs the region-storms scope as well.

Regions stay ids (filters, records); every item that has a ``region`` also carries its
``region_name`` in ``lang`` (ru by default, or en), and a snapshot carries ``region_names``,
the whole table in both languages, so that the page switches language without reconnecting.

    GET  /api/board/snapshot            everything the page shows, as JSON
    GET  /api/board/stream              text/event-stream: "snapshot" first, then "update"s
    POST /api/alerts/{alert_id}/ack     {"by": "name", "note": "...", "request_id": "uuid"}
    POST /api/alerts/{alert_id}/follow-up  {"action": "called_back"|"escalated", ...}
    GET  /api/staffing                  Erlang C advice per phone queue
    PUT  /api/staffing/agents           {"region": "...", "queue": "main", "agents": 12}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from schemas.codec import encode
from services.alerts import acks
from services.alerts.feed import BoardFeed, now_ms
from services.alerts.hub import Hub
from services.alerts.live import LiveBoard, Scope
from services.alerts.staffing import StaffingTracker, queue_key
from services.auth import Principal
from services.auth import Scope as KeyScope
from services.board.session import BoardUser
from services.labels import LangParam, name_row, name_rows
from services.ports import PublishError
from streams.sla.regions import Lang, region_names

HEARTBEAT_S = 15.0


@contextlib.asynccontextmanager
async def board_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    app.state.board = LiveBoard()
    app.state.board_hub = Hub()
    app.state.staffing = StaffingTracker(
        threshold_s=settings.staffing_threshold_s, target=settings.staffing_target,
        default_handle_s=settings.staffing_default_handle_s)
    app.state.board_feed = BoardFeed(settings, app.state.board, app.state.board_hub,
                                     app.state.staffing)
    task = asyncio.create_task(app.state.board_feed.run()) if settings.board_feed else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        publisher = getattr(app.state, "alerts_publisher", None)
        if publisher is not None:
            await run_in_threadpool(publisher.close)


router = APIRouter(tags=["board"], lifespan=board_lifespan)


#: storms=tenant (default): the key's own storms; storms=region: every tenant's (region-wide).
StormView = Annotated[Literal["tenant", "region"], Query(
    description="tenant: the key's own outage storms; region: every tenant's storms of the "
                "regions shown (needs the region-storms scope).")]


def _scope(user: Principal, region: str | None, channel: str | None,
           storms: str = "tenant") -> Scope:
    region_storms = storms == "region"
    if region_storms and not user.allows(KeyScope.REGION_STORMS):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"API key {user.key_id} lacks scope {KeyScope.REGION_STORMS.value!r}, needed for "
            "the region-wide storm view (storms=region)")
    return Scope(tenant=user.tenant, region=region or None, channel=channel or None,
                 region_storms=region_storms)


#: The lists of a board snapshot whose items carry a region.
_SNAPSHOT_LISTS = ("groups", "feed", "risks", "storms")


def _named_snapshot(snap: dict[str, Any], tenant: str, lang: Lang) -> dict[str, Any]:
    """A snapshot for the page: items named in ``lang``, the name table, the key's tenant."""
    out = {k: name_rows(v, lang) if k in _SNAPSHOT_LISTS else v for k, v in snap.items()}
    return {**out, "tenant": tenant, "region_names": region_names()}


def _named_update(message: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """An update with its item named in ``lang`` (a copy: the hub shares the message)."""
    return {**message, "data": name_row(message["data"], lang)}


@router.get("/api/board/snapshot")
def snapshot(request: Request, user: BoardUser, region: str | None = None,
             channel: str | None = None, storms: StormView = "tenant",
             lang: LangParam = "ru") -> dict[str, Any]:
    """The board's current state for the key's tenant and the chosen filters."""
    board: LiveBoard = request.app.state.board
    snap = board.snapshot(_scope(user, region, channel, storms), now_ms())
    return _named_snapshot(snap, user.tenant, lang)


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get("/api/board/stream")
async def stream(request: Request, user: BoardUser, region: str | None = None,
                 channel: str | None = None, storms: StormView = "tenant",
                 lang: LangParam = "ru") -> StreamingResponse:
    """Server-Sent Events: a full snapshot, then every update for this scope as it happens."""
    scope = _scope(user, region, channel, storms)
    board: LiveBoard = request.app.state.board
    hub: Hub = request.app.state.board_hub

    async def events() -> AsyncIterator[bytes]:
        sub = hub.subscribe(scope)
        try:
            yield b"retry: 2000\n\n"
            yield _sse("snapshot", _named_snapshot(board.snapshot(scope, now_ms()),
                                                   user.tenant, lang))
            while not sub.overflowed:
                try:
                    message = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield _sse("ping", {"now": now_ms()})
                    continue
                yield _sse("update", _named_update(message, lang))
        finally:
            hub.unsubscribe(sub)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


class AckBody(BaseModel):
    by: str = Field(default="", max_length=200, description="Name of the shift lead.")
    note: str | None = Field(default=None, max_length=500)
    request_id: str | None = Field(default=None, max_length=64,
                                   description="Client-chosen id: a retried request reuses it.")


class FollowUpBody(AckBody):
    action: acks.FollowUp


def _publisher(request: Request) -> Any:
    publisher = getattr(request.app.state, "alerts_publisher", None)
    if publisher is None:
        from services.adapters.kafka_publisher import KafkaPublisher

        publisher = KafkaPublisher(request.app.state.settings.kafka_bootstrap,
                                   client_id="kontakt-board")
        request.app.state.alerts_publisher = publisher
    return publisher


def _locate(request: Request, user: Principal,
            alert_id: str) -> tuple[tuple[str, str, str], str | None]:
    """Where the alert is, if the key may act on it: its own tenant's alerts, and tenant-less
    (v1) storms for a key with the region-wide view. Another tenant's storm, though the
    region-wide view shows it, is that tenant's to acknowledge."""
    board: LiveBoard = request.app.state.board
    where = board.where(alert_id)
    if where is None or not (where[0] == user.tenant or (
            where[0] == "" and user.allows(KeyScope.REGION_STORMS))):
        raise HTTPException(404, f"no alert {alert_id} on this board")
    contact = board.feed.get(alert_id, {}).get("contact_id")
    return where, contact


async def _send(request: Request, name: str, datum: dict[str, Any]) -> None:
    settings = request.app.state.settings
    value = encode(name, datum)
    topic = settings.topic(acks.ACK_TOPIC)
    try:
        await run_in_threadpool(_publisher(request).publish, topic, [(acks.record_key(datum),
                                                                      value)])
    except PublishError as exc:
        raise HTTPException(503, f"could not record the action: {exc}",
                            headers={"Retry-After": "5"}) from exc


@router.post("/api/alerts/{alert_id}/ack", status_code=202)
async def acknowledge(alert_id: str, body: AckBody, request: Request,
                      user: BoardUser) -> dict[str, Any]:
    """Record that a shift lead saw the alert (who, when) as an AlertAcknowledged event."""
    where, contact = _locate(request, user, alert_id)
    datum = acks.acknowledgement(
        ack_id=body.request_id or str(uuid.uuid4()), alert_id=alert_id, where=where,
        contact_id=contact, by=body.by, key_id=user.key_id, at=now_ms(), note=body.note)
    await _send(request, acks.ACKNOWLEDGED, datum)
    return datum


@router.post("/api/alerts/{alert_id}/follow-up", status_code=202)
async def mark_follow_up(alert_id: str, body: FollowUpBody, request: Request,
                         user: BoardUser) -> dict[str, Any]:
    """Record what was done about the alert (called back, escalated) as FollowUpMarked."""
    where, contact = _locate(request, user, alert_id)
    datum = acks.follow_up(
        follow_up_id=body.request_id or str(uuid.uuid4()), alert_id=alert_id, where=where,
        contact_id=contact, action=body.action, by=body.by, key_id=user.key_id, at=now_ms(),
        note=body.note)
    await _send(request, acks.FOLLOW_UP, datum)
    return datum


@router.get("/api/staffing")
def staffing(request: Request, user: BoardUser,
             region: Annotated[str | None, Query()] = None,
             lang: LangParam = "ru") -> dict[str, Any]:
    """Agents Erlang C says each phone queue needs, next to the agents active now."""
    tracker: StaffingTracker = request.app.state.staffing
    rows = name_rows((r for r in tracker.advice(now_ms())
                      if r["tenant"] == user.tenant and (not region or r["region"] == region)),
                     lang)
    return {"queues": rows, "model": "Erlang C; see docs/board.md#staffing-advice"}


class AgentsBody(BaseModel):
    region: str = Field(min_length=1, max_length=256)
    queue: str = Field(default="main", max_length=256)
    agents: int = Field(ge=0, le=100_000)


@router.put("/api/staffing/agents")
def enter_agents(body: AgentsBody, request: Request, user: BoardUser) -> dict[str, Any]:
    """The shift lead's own count of agents on a queue (wins over what events show)."""
    tracker: StaffingTracker = request.app.state.staffing
    tracker.enter_agents(queue_key(body.model_dump(), user.tenant), body.agents, now_ms())
    return {"region": body.region, "queue": body.queue, "agents": body.agents}
