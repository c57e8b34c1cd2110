"""The admin API of policy versions (docs/policies.md): publish a tenant's next version, list
its versions, show one. Admin scope; a tenant's admin key manages its own tenant only, an
operator's key (sql-all, as for /v1/jobs; the local operator token has it) every tenant."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from schemas.events import format_timestamp
from services.auth import Principal, Scope, require_scope
from services.policies.log import PolicyLogUnavailable
from services.policies.publish import PolicyConflict, PolicyPublisher
from streams.sla.policy import PolicyError
from streams.sla.versions import PolicyVersion, book_of, version_at, version_document

router = APIRouter(prefix="/v1/admin/policies", tags=["policies"])
Admin = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]
Tenant = Annotated[str, Path(min_length=1, max_length=128, description="The tenant.")]

_EXAMPLE = {
    "comment": "order 186, with our own 20 s answer target in Moscow",
    "default": {"preset": "minenergo-186"},
    "overrides": [{"region": "77", "name": "moscow-strict", "milestones": [{
        "id": "phone.answer", "channels": ["phone"], "start": "queued", "stop": ["answered"],
        "cancel": ["closed"], "abandon_rule": True, "target": "20s",
        "warnings": [0.5, 0.8]}]}],
}


class VersionMeta(BaseModel):
    version: int = Field(description="1, 2, ... per tenant.")
    effective_from: str = Field(description="Contacts whose first event is at or after this "
                                "instant (RFC 3339, UTC) are judged by this version.")
    published_by: str = Field(description="The API key id (or the CLI's user) that published it.")
    published_at: str = Field(description="When it was published (RFC 3339, UTC).")
    comment: str


class VersionOut(VersionMeta):
    tenant: str
    document: dict[str, Any] = Field(description="The version document, presets resolved to "
                                     "their rules: PUT it back and it makes the same rules.")


class PoliciesOut(BaseModel):
    tenant: str
    current: int | None = Field(description="The version in force now; null: none yet (the "
                                "platform's KONTAKT_SLA_POLICY judges).")
    latest: int = Field(description="The newest version (it may take effect later).")
    versions: list[VersionMeta] = Field(description="Every version, oldest first.")


def get_policy_publisher(request: Request) -> PolicyPublisher:
    """One PolicyPublisher per API process (it holds the publishing lock), on first use."""
    publisher = getattr(request.app.state, "policy_publisher", None)
    if publisher is None:
        from services.policies.kafka_log import KafkaPolicyLog

        settings = request.app.state.settings
        publisher = PolicyPublisher(
            KafkaPolicyLog(settings.kafka_bootstrap, settings.topic("policies")),
            min_lead_ms=settings.policy_min_lead_s * 1000,
            clock=lambda: time.time_ns() // 1_000_000)
        request.app.state.policy_publisher = publisher
    return publisher


Publisher = Annotated[PolicyPublisher, Depends(get_policy_publisher)]


def _may_manage(principal: Principal, tenant: str) -> None:
    if principal.allows(Scope.SQL_ALL) or principal.tenant == tenant:
        return
    raise HTTPException(403, f"API key {principal.key_id} manages the policies of tenant "
                        f"{principal.tenant!r} only, not {tenant!r}")


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(503, f"the policy log is unavailable: {exc}", headers={"Retry-After": "5"})


def _history(publisher: PolicyPublisher, tenant: str) -> list[PolicyVersion]:
    try:
        history = publisher.log.history(tenant)
    except PolicyLogUnavailable as exc:
        raise _unavailable(exc) from exc
    if not history:
        raise HTTPException(404, f"tenant {tenant!r} has no policy versions; the platform's "
                            "policy (KONTAKT_SLA_POLICY) judges its contacts")
    return history


def _meta(v: PolicyVersion) -> dict[str, Any]:
    return {"version": v.version, "effective_from": format_timestamp(v.effective_from),
            "published_by": v.published_by, "published_at": format_timestamp(v.published_at),
            "comment": v.comment}


def _whole(v: PolicyVersion) -> dict[str, Any]:
    return {"tenant": v.tenant, **_meta(v), "document": version_document(v)}


@router.put("/{tenant}", status_code=201, response_model=VersionOut,
            summary="Publish the tenant's next policy version",
            responses={403: {"description": "The key may not manage this tenant."},
                       409: {"description": "Another publisher wrote the same version number "
                             "at the same time; publish again."},
                       422: {"description": "The document or its date is refused; the message "
                             "names the field."},
                       503: {"description": "Kafka is unavailable; nothing was published."}})
def publish_version(
    tenant: Tenant, principal: Admin, publisher: Publisher,
    document: Annotated[dict[str, Any], Body(
        description="A version document: effective_from (RFC 3339; omitted: publish instant "
        "+ KONTAKT_POLICY_MIN_LEAD_S), comment, default (preset = name, or an inline policy: "
        "name, milestones), overrides (each: region and/or queue, and a preset or an inline "
        "policy). effective_from must be at least KONTAKT_POLICY_MIN_LEAD_S after publishing "
        "and not before the latest version's.",
        openapi_examples={"moscow": {"summary": "order 186 and a Moscow override",
                                     "value": _EXAMPLE}})],
) -> dict[str, Any]:
    """Validates the document, numbers it (last + 1) and publishes the tenant's whole history
    to the policies topic; 201 once Kafka has acknowledged it."""
    _may_manage(principal, tenant)
    try:
        version = publisher.publish(tenant, document, published_by=principal.key_id)
    except PolicyError as exc:
        raise HTTPException(422, str(exc)) from None
    except PolicyConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except PolicyLogUnavailable as exc:
        raise _unavailable(exc) from exc
    return _whole(version)


@router.get("/{tenant}", response_model=PoliciesOut, summary="The tenant's policy versions",
            responses={403: {"description": "The key may not manage this tenant."},
                       404: {"description": "The tenant has no versions."},
                       503: {"description": "Kafka is unavailable."}})
def list_versions(tenant: Tenant, principal: Admin, publisher: Publisher) -> dict[str, Any]:
    """The version in force now, the newest, and every version's metadata."""
    _may_manage(principal, tenant)
    history = _history(publisher, tenant)
    current = version_at(book_of(history), tenant, publisher.now_ms())
    return {"tenant": tenant, "current": current.version if current else None,
            "latest": history[-1].version, "versions": [_meta(v) for v in history]}


@router.get("/{tenant}/versions/{number}", response_model=VersionOut,
            summary="One policy version, with its document",
            responses={403: {"description": "The key may not manage this tenant."},
                       404: {"description": "No such version."},
                       503: {"description": "Kafka is unavailable."}})
def show_version(tenant: Tenant, principal: Admin, publisher: Publisher,
                 number: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
    _may_manage(principal, tenant)
    for v in _history(publisher, tenant):
        if v.version == number:
            return _whole(v)
    raise HTTPException(404, f"tenant {tenant!r} has no policy version {number}")
