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
from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Channel, CustomerCategory, EventType, Kind
from services.analytics.filters import TOKEN, FilterError, parse_range
from services.analytics.params import END_DESCRIPTION, INSTANT_SCHEMA, START_DESCRIPTION
from services.analytics.policy_rules import stored_rules
from services.analytics.router import Reader, _warehouse
from services.analytics.scope import Scope
from services.analytics.whatif import TooManyContacts, rules_name, run_whatif, sentences
from services.labels import LangParam, name_rows
from streams.sla.metrics import GROUP_FIELDS, check_group_by
from streams.sla.policy import PRESETS, Policy, PolicyError, load_policy, policy_from_mapping
from streams.sla.versions import Rules

router = APIRouter(prefix="/v1", tags=["analytics"])
#: What a duration of a policy looks like here (parse_duration takes a few more spellings).
DURATION = "^([1-9][0-9]{0,2}(ms|s|m|min|h)|[1-9][0-9]?d)$"
#: The calendars a milestone may name (streams/sla/calendars.py).
CALENDAR = "^(24x7|ru-workdays-([0-9]|1[01])-(1[2-9]|2[0-4]))$"
#: Grouping fields of a what-if (the tenant is the key's, so not one of them).
GROUPS = tuple(g for g in GROUP_FIELDS if g != "tenant")


class MilestoneDoc(BaseModel):
    """One [[milestones]] table of a policy file, as JSON (docs/sla.md has every key)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=TOKEN.pattern, examples=["phone.answer"])
    description: str = Field(default="", max_length=500)
    channels: list[Channel] = Field(default_factory=list, description="Empty: every channel.")
    kinds: list[Kind] = Field(default_factory=list, description="Empty: every kind.")
    start: EventType
    stop: list[EventType] = Field(min_length=1)
    cancel: list[EventType] = Field(default_factory=list)
    abandon_rule: bool = False
    pausable: bool = False
    target: str = Field(pattern=DURATION, examples=["40s", "30m", "1d"])
    calendar: str = Field(default="24x7", json_schema_extra={"pattern": CALENDAR},
                          description="24x7, or ru-workdays-<open>-<close> (local hours).")
    warnings: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=list,
                                                                 max_length=10)
    category_targets: dict[CustomerCategory, Annotated[str, Field(pattern=DURATION)]] = Field(
        default_factory=dict)


class PolicyDoc(BaseModel):
    """A policy as JSON: the mapping a policy TOML file parses to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="candidate", max_length=64)
    description: str = Field(default="", max_length=500)
    milestones: list[MilestoneDoc] = Field(min_length=1, max_length=50)


def _presets_or_policy(schema: dict[str, Any]) -> None:
    """The policy's schema: a preset name or a PolicyDoc; TOML text (any string) is accepted
    as well but left out, since no schema can say which strings are valid TOML policies."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") not in ("string", None)
                or "$ref" in b]
    schema["anyOf"] = [{"type": "string", "enum": list(PRESETS)}, *branches]


PolicyIn = str | PolicyDoc
POLICY_HELP = ("A preset name, a policy as JSON (PolicyDoc), or the TOML text of a policy file "
               f"(presets: {', '.join(PRESETS)}).")


class WhatIfRequest(BaseModel):
    start: str = Field(alias="from", json_schema_extra=INSTANT_SCHEMA, examples=["2026-12-01"],
                       description=f"Contacts first seen from here. {START_DESCRIPTION}")
    end: str = Field(alias="to", json_schema_extra=INSTANT_SCHEMA, examples=["2026-12-07"],
                     description=f"...up to here. {END_DESCRIPTION} At most whatif_max_days "
                                 "after from.")
    policy: PolicyIn = Field(json_schema_extra=_presets_or_policy, examples=["minenergo-186"],
                             description=f"Candidate policy. {POLICY_HELP}")
    actual: PolicyIn | None = Field(default=None, json_schema_extra=_presets_or_policy,
                                    description="Policy in force (default: the worker's). "
                                    + POLICY_HELP)
    group_by: list[Annotated[str, Field(json_schema_extra={"enum": list(GROUPS)})]] = Field(
        default_factory=list, max_length=6, description="Fields to group the figures by.")


def _policy(doc: PolicyIn, what: str) -> Policy:
    try:
        if isinstance(doc, PolicyDoc):
            return policy_from_mapping(doc.model_dump(mode="json"), f"{what} (request body)")
        if len(doc) > 64_000:
            raise PolicyError("longer than 64,000 characters")
        if doc in PRESETS:
            return load_policy(doc)
        return policy_from_mapping(tomllib.loads(doc), f"{what} (request body)")
    except (PolicyError, tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise HTTPException(422, f"{what}: {exc}") from None


@router.post("/sla/whatif", summary="Compliance under another SLA policy, next to the actual")
def whatif(
    request: Request, principal: Reader, body: Annotated[WhatIfRequest, Body()],
    lang: LangParam = "ru",
) -> dict[str, Any]:
    """Re-evaluates the tenant's contacts of the period with the same pure SLA core the stream
    uses, once under the policy in force and once under the candidate, and returns both
    (grouped by region, each row also names it: region_name, in ``lang``)."""
    settings = request.app.state.settings
    try:
        period = parse_range(body.start, body.end, settings.whatif_max_days)
        group_by = check_group_by(body.group_by)
    except (FilterError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    if "tenant" in group_by:
        raise HTTPException(422, "group_by: tenant is implied by the API key")
    candidate = _policy(body.policy, "policy")
    actual: Policy | Rules
    if body.actual is not None:
        actual = _policy(body.actual, "actual")
    else:  # what judged them: the tenant's policy versions over the server's own setting
        actual = stored_rules(_warehouse(request), load_policy(settings.sla_policy))
    scope = Scope(principal.tenant, period.start_ms, period.end_ms)
    try:
        result = run_whatif(_warehouse(request), actual, candidate, scope, group_by=group_by,
                            max_contacts=settings.whatif_max_contacts)
    except TooManyContacts as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        "tenant": principal.tenant, "contacts": result.contacts,
        "actual": rules_name(actual, principal.tenant),
        "whatif": candidate.name, "rows": name_rows(result.rows, lang),
        "summary": sentences(result.rows, group_by),
    }
