"""Batch jobs that need the warehouse, run by the process that owns it (admin scope).

With embedded chdb the running API holds the warehouse, so `kontakt appeals link` and
`kontakt backfill` send their work here instead of failing with "in use by another process"
(services/local/api_link.py finds the API). Each request runs the job to the end in the
API's thread pool and answers with its figures; the sink keeps writing meanwhile (the
warehouse interleaves their queries).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from services.analytics.policy_rules import stored_rules
from services.analytics.scope_text import instant_option, load_policy_option, scope_options
from services.analytics.whatif import rules_name
from services.auth import Principal, Scope, require_scope
from services.errors import UserError
from services.ports import Warehouse

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
Admin = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]


class ScopeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tenant: str | None = Field(None, min_length=1, description="Only this tenant.")
    start: str | None = Field(None, alias="from", description="RFC 3339 or a plain date.")
    end: str | None = Field(None, alias="to", description="RFC 3339 (exclusive) or a date.")


class LinkBody(ScopeBody):
    window_days: int | None = Field(None, ge=0, le=365, description="Linking window (days).")


class BackfillBody(ScopeBody):
    policy: str | None = Field(None, description="Preset name (default: KONTAKT_SLA_POLICY).")
    as_of: str | None = Field(None, description="Evaluate at this RFC 3339 instant.")
    versions: bool = Field(True, description="Judge each contact by its tenant's policy "
                           "versions (policy_versions), as the worker does; false: by the "
                           "policy alone.")


def _own_tenant(principal: Principal, body: ScopeBody) -> None:
    """A tenant's admin key rebuilds its own tenant only; an operator's (sql-all) any."""
    if principal.allows(Scope.SQL_ALL):
        return
    if body.tenant != principal.tenant:
        raise HTTPException(403, f"API key {principal.key_id} may run jobs for tenant "
                            f"{principal.tenant!r} only: send tenant={principal.tenant!r}")


def _warehouse(request: Request) -> Warehouse:
    warehouse = getattr(request.app.state, "warehouse", None)
    if warehouse is None:
        raise HTTPException(503, "the warehouse is not open (API starting or stopping)")
    return warehouse


@router.post("/appeals-link", summary="Rebuild appeal_links (kontakt appeals link)")
def appeals_link_job(request: Request, principal: Admin, body: LinkBody) -> dict[str, Any]:
    """Links the contacts in scope into appeals and writes appeal_links (docs/appeals.md)."""
    from schemas.units import DAY_MS
    from services.appeals.linking import link_appeals

    _own_tenant(principal, body)
    settings = request.app.state.settings
    days = settings.appeal_window_days if body.window_days is None else body.window_days
    try:
        scope = scope_options(body.tenant, body.start, body.end)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    began = time.monotonic()
    result = link_appeals(_warehouse(request), scope, window_ms=days * DAY_MS,
                          linked_at=int(time.time() * 1000))
    return {"contacts": result.contacts, "appeals": result.appeals,
            "repeat_appeals": result.repeat_appeals, "window_days": days,
            "elapsed_s": round(time.monotonic() - began, 3)}


@router.post("/backfill", summary="Rebuild contacts and outcomes (kontakt backfill)")
def backfill_job(request: Request, principal: Admin, body: BackfillBody) -> dict[str, Any]:
    """Rebuilds the contacts and outcome tables in scope from the raw events."""
    from services.analytics.backfill import backfill

    _own_tenant(principal, body)
    settings = request.app.state.settings
    if body.policy is not None and ("/" in body.policy or body.policy.endswith(".toml")):
        raise HTTPException(422, "policy: only a preset name here (a TOML file is read by the "
                            "API's host, not yours)")
    try:
        policy = load_policy_option(body.policy or settings.sla_policy)
        scope = scope_options(body.tenant, body.start, body.end)
        as_of = instant_option("--as-of", body.as_of)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    began = time.monotonic()
    warehouse = _warehouse(request)
    rules = stored_rules(warehouse, policy) if body.versions else policy
    result = backfill(warehouse, rules, scope, evaluated_at=int(time.time() * 1000),
                      as_of=as_of)
    return {"contacts": result.contacts, "outcomes": result.outcomes,
            "policy": rules_name(rules, body.tenant),
            "elapsed_s": round(time.monotonic() - began, 3)}
