"""POST /v1/remediation: record a step of a corrective action (planned, completed, verified).

The step becomes a RemediationRecorded record on the acknowledgements topic (keyed by contact
as deploy/topics.toml declares: the first complaint's contact_id, else the action_id), like
every other fact in Kontakt; the sink stores it in the ``remediation`` table and the
reports of services/appeals/router.py read it from there. Needs the ``ingest`` scope; the
tenant is the key's. A planned step must name a root cause from the tenant's taxonomy
(<data_dir>/remediation.toml or the shipped default) and a region -- a typo in a cause would
otherwise split the root-cause report silently.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from schemas.codec import encode
from schemas.events import parse_timestamp
from services.alerts.acks import ACK_TOPIC
from services.analytics.filters import TOKEN
from services.analytics.params import INSTANT_PATTERN, optional
from services.auth import Principal, Scope, require_scope
from services.ports import PublishError
from streams.sla.remediation import Step, load_remediation

RECORD = "RemediationRecorded"
Writer = Annotated[Principal, Depends(require_scope(Scope.INGEST))]
_ID = TOKEN.pattern


def _planned_needs(causes: list[str]) -> dict[str, Any]:
    """A planned step names a root cause of the taxonomy and a region; the other steps not."""
    return {"anyOf": [
        {"properties": {"step": {"const": Step.PLANNED.value},
                        "root_cause": {"type": "string", "enum": causes},
                        "region": {"type": "string", "pattern": _ID}},
         "required": ["step", "root_cause", "region"]},
        {"properties": {"step": {"enum": [s.value for s in Step if s is not Step.PLANNED]}}},
    ]}  # fmt: skip


def _declare_taxonomy(app: FastAPI) -> None:
    """This server's taxonomy (<data_dir>/remediation.toml) in its OpenAPI document, in place
    of the shipped one the model declares."""
    causes = sorted(load_remediation(app.state.settings.data_dir).root_causes)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        planned = schema["components"]["schemas"]["StepBody"]["anyOf"][0]
        planned["properties"]["root_cause"]["enum"] = causes
        return schema

    setattr(app, "openapi", openapi)  # noqa: B010 -- FastAPI's documented way to customise


@contextlib.asynccontextmanager
async def remediation_lifespan(app: FastAPI) -> AsyncIterator[None]:
    _declare_taxonomy(app)
    try:
        yield
    finally:
        publisher = getattr(app.state, "remediation_publisher", None)
        if publisher is not None:
            await run_in_threadpool(publisher.close)


router = APIRouter(prefix="/v1", tags=["remediation"], lifespan=remediation_lifespan)


class StepBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=_planned_needs(
        sorted(load_remediation(None).root_causes)))

    action_id: str = Field(pattern=_ID, description="The corrective action (your id).")
    step: Step
    by: str = Field(min_length=1, max_length=256, description="Who records it.")
    root_cause: str = Field(default="", max_length=64, examples=["meter", "outage"],
                            description="Planned: an id of the tenant's root-cause taxonomy "
                            "(<data_dir>/remediation.toml, else the shipped default).")
    region: str = Field(default="", max_length=64, json_schema_extra={"pattern": f"^$|{_ID}"},
                        description="Planned: where the fault is (a region id).")
    owner: str | None = Field(default=None, max_length=256)
    due: str | None = Field(default=None, json_schema_extra=optional(INSTANT_PATTERN),
                            examples=["2026-12-15T00:00:00+03:00"],
                            description="Planned: RFC 3339 due date; empty = "
                            "the tenant's deadlines.complete after the plan.")
    complaint_ids: list[Annotated[str, Field(pattern=_ID)]] = Field(default=[], max_length=200)
    at: str | None = Field(default=None, json_schema_extra=optional(INSTANT_PATTERN),
                           description="RFC 3339; default now.")
    request_id: str | None = Field(default=None, pattern=_ID,
                                   description="Idempotency key (a retry sends the same).")
    note: str | None = Field(default=None, max_length=2000)


def _instant(name: str, raw: str | None, default: int | None) -> int | None:
    if raw is None:
        return default
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


def step_datum(body: StepBody, tenant: str, key_id: str, causes: set[str]) -> dict[str, Any]:
    """Validated body -> RemediationRecorded datum (422 for a plan without cause/region)."""
    if body.step is Step.PLANNED:
        if body.root_cause not in causes:
            raise HTTPException(422, f"root_cause: {body.root_cause[:64]!r} is not in the "
                                f"tenant's taxonomy; one of {sorted(causes)}")
        if not TOKEN.match(body.region):
            raise HTTPException(422, "region: a planned action names the region of the fault")
    return {
        "remediation_id": body.request_id or str(uuid.uuid4()), "tenant": tenant,
        "action_id": body.action_id, "step": body.step.value, "root_cause": body.root_cause,
        "region": body.region, "owner": body.owner, "due_at": _instant("due", body.due, None),
        "complaint_ids": list(dict.fromkeys(body.complaint_ids)), "recorded_by": body.by,
        "key_id": key_id, "at": _instant("at", body.at, int(time.time() * 1000)),
        "note": body.note,
    }  # fmt: skip


def record_key(datum: dict[str, Any]) -> bytes:
    """The first complaint's contact_id (the topic is keyed by contact), else the action."""
    return str((datum["complaint_ids"] or [datum["action_id"]])[0]).encode()


def _publisher(request: Request) -> Any:
    publisher = getattr(request.app.state, "remediation_publisher", None)
    if publisher is None:
        from services.adapters.kafka_publisher import KafkaPublisher

        publisher = KafkaPublisher(request.app.state.settings.kafka_bootstrap,
                                   client_id="kontakt-remediation")
        request.app.state.remediation_publisher = publisher
    return publisher


@router.post("/remediation", status_code=202, summary="Record a corrective-action step")
async def record_step(body: StepBody, request: Request, principal: Writer) -> dict[str, Any]:
    """Publish the step; 202 once the broker has it (503 with Retry-After when it has not)."""
    settings = request.app.state.settings
    causes = set(load_remediation(settings.data_dir).root_causes)
    datum = step_datum(body, principal.tenant, principal.key_id, causes)
    value = encode(RECORD, datum)
    try:
        await run_in_threadpool(_publisher(request).publish, settings.topic(ACK_TOPIC),
                                [(record_key(datum), value)])
    except PublishError as exc:
        raise HTTPException(503, f"could not record the step: {exc}",
                            headers={"Retry-After": "5"}) from exc
    return datum
