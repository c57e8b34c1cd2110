"""The parameters of the report API as OpenAPI declares them: ``from``, ``to``, ``at`` and the
repeatable filters (channel, category, region, office, milestone, group_by).

One declaration for every report (services/analytics, services/appeals), parsed by the one
parser, services.analytics.filters.parse_instant. The declared pattern is what that parser
accepts: an RFC 3339 instant with an offset, or a plain date (a local day), years 1970..2299.
FastAPI does not check the pattern itself, so a bad value gets the parser's message (422 naming
the parameter) instead of a bare "should match pattern".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from fastapi import Query

from schemas.events import Channel, CustomerCategory
from services.analytics.filters import TOKEN

_YEAR = "(19[7-9][0-9]|2[0-2][0-9]{2})"
_DATE = f"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = ("[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?"
         "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
#: A plain date YYYY-MM-DD.
DATE_PATTERN = f"^{_DATE}$"
#: An RFC 3339 instant (with an offset) or a plain date.
INSTANT_OR_DATE_PATTERN = f"^{_DATE}({_TIME})?$"
#: An RFC 3339 instant only (where a bound is not a report's: remediation steps).
INSTANT_PATTERN = f"^{_DATE}{_TIME}$"

_LOCAL_DAY = ("a plain date YYYY-MM-DD is a local day: in the time zone of the regions named "
              "(region=; they must share one zone), else Europe/Moscow, the standard's zone")


def _schema(pattern: str) -> dict[str, Any]:
    return {"pattern": pattern}


#: Schema keywords of a from/to/at value (for pydantic Field and FastAPI Query alike).
INSTANT_SCHEMA = _schema(INSTANT_OR_DATE_PATTERN)


def optional(pattern: str) -> dict[str, Any]:
    """Schema keywords of an optional string of ``pattern`` (replacing pydantic's anyOf)."""
    return {"anyOf": [{"type": "string", "pattern": pattern}, {"type": "null"}]}

START_DESCRIPTION = ("Start, inclusive: an RFC 3339 instant, or a plain date = its local "
                     f"midnight ({_LOCAL_DAY}).")
END_DESCRIPTION = ("End: an RFC 3339 instant, exclusive; or a plain date, included whole "
                   "(from=2026-12-01&to=2026-12-07 is the week of the 1st to the 7th, up to "
                   f"local midnight starting the 8th; {_LOCAL_DAY}).")

Start = Annotated[str, Query(
    alias="from", json_schema_extra=INSTANT_SCHEMA, description=START_DESCRIPTION,
    examples=["2026-12-01", "2026-12-01T00:00:00+03:00"])]
End = Annotated[str, Query(
    alias="to", json_schema_extra=INSTANT_SCHEMA,
    description=f"{END_DESCRIPTION} At most query_max_days after from.",
    examples=["2026-12-07", "2026-12-08T00:00:00+03:00"])]
At = Annotated[str | None, Query(
    json_schema_extra=optional(INSTANT_OR_DATE_PATTERN), examples=["2026-12-07"],
    description="Evaluate at this RFC 3339 instant, or at the local midnight starting this "
                "plain date (Europe/Moscow); default now.")]
FirstDay = Annotated[date, Query(
    alias="from", json_schema_extra=_schema(DATE_PATTERN), examples=["2026-12-01"],
    description="First local day, YYYY-MM-DD.")]
LastDay = Annotated[date, Query(
    alias="to", json_schema_extra=_schema(DATE_PATTERN), examples=["2026-12-07"],
    description="Last local day, YYYY-MM-DD, included (as `to` of /v1/reports/sla).")]


def _values(items: dict[str, Any], what: str) -> Any:
    """A repeatable filter: ``?region=tver&region=kursk`` (or comma-separated in one value)."""
    return Query(
        json_schema_extra={"anyOf": [{"type": "array", "items": {"type": "string", **items},
                                      "maxItems": 50}, {"type": "null"}]},
        description=f"{what}; repeat the parameter (or separate by commas) for several.")


def enum_values(values: Iterable[str], what: str) -> Any:
    return _values({"enum": list(values)}, what)


def token_values(what: str) -> Any:
    return _values({"pattern": TOKEN.pattern}, f"{what} (letters, digits, '_', '.', '-')")


Values = list[str] | None
Channels = Annotated[Values, enum_values((c.value for c in Channel), "Channel")]
Categories = Annotated[Values, enum_values((c.value for c in CustomerCategory),
                                           "Customer category")]
Regions = Annotated[Values, token_values("Region id")]
Offices = Annotated[Values, token_values("Office id")]
Milestones = Annotated[Values, token_values("Milestone id")]
