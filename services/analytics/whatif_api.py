"""POST /v1/sla/whatif: the caller's history re-evaluated under a candidate policy.

The policy travels in the body as TOML text (the format of the preset files) or as a preset
name; a path is never accepted (the API must not read files named by a caller). The period is
bounded (settings.whatif_max_days) and so is the number of contacts
(settings.whatif_max_contacts); the work is the same pure-core re-evaluation as
`kontakt sla whatif`.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, Field

from services.analytics.filters import FilterError, parse_range
from services.analytics.params import END_DESCRIPTION, INSTANT_SCHEMA, START_DESCRIPTION
from services.analytics.router import Reader, _warehouse
from services.analytics.scope import Scope
from services.analytics.whatif import TooManyContacts, run_whatif, sentences
from streams.sla.metrics import check_group_by
from streams.sla.policy import PRESETS, Policy, PolicyError, load_policy, policy_from_mapping

router = APIRouter(prefix="/v1", tags=["analytics"])


class WhatIfRequest(BaseModel):
    start: str = Field(alias="from", json_schema_extra=INSTANT_SCHEMA, examples=["2026-12-01"],
                       description=f"Contacts first seen from here. {START_DESCRIPTION}")
    end: str = Field(alias="to", json_schema_extra=INSTANT_SCHEMA, examples=["2026-12-07"],
                     description=f"...up to here. {END_DESCRIPTION} (whatif_max_days here)")
    policy: str = Field(max_length=64_000,
                        description="Candidate policy: TOML text, or a preset name.")
    actual: str | None = Field(default=None, max_length=64_000,
                               description="Policy in force (default: the worker's).")
    group_by: list[str] = Field(default_factory=list, max_length=6)


def _policy(text: str, what: str) -> Policy:
    try:
        if text in PRESETS:
            return load_policy(text)
        return policy_from_mapping(tomllib.loads(text), f"{what} (request body)")
    except (PolicyError, tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise HTTPException(422, f"{what}: {exc}") from None


@router.post("/sla/whatif", summary="Compliance under another SLA policy, next to the actual")
def whatif(
    request: Request, principal: Reader, body: Annotated[WhatIfRequest, Body()]
) -> dict[str, Any]:
    """Re-evaluates the tenant's contacts of the period with the same pure SLA core the stream
    uses, once under the policy in force and once under the candidate, and returns both."""
    settings = request.app.state.settings
    try:
        period = parse_range(body.start, body.end, settings.whatif_max_days)
        group_by = check_group_by(body.group_by)
    except (FilterError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    if "tenant" in group_by:
        raise HTTPException(422, "group_by: tenant is implied by the API key")
    candidate = _policy(body.policy, "policy")
    if body.actual is not None:
        actual = _policy(body.actual, "actual")
    else:  # the server's own setting: a preset or a file the operator configured
        actual = load_policy(settings.sla_policy)
    scope = Scope(principal.tenant, period.start_ms, period.end_ms)
    try:
        result = run_whatif(_warehouse(request), actual, candidate, scope, group_by=group_by,
                            max_contacts=settings.whatif_max_contacts)
    except TooManyContacts as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        "tenant": principal.tenant, "contacts": result.contacts, "actual": actual.name,
        "whatif": candidate.name, "rows": result.rows,
        "summary": sentences(result.rows, group_by),
    }
