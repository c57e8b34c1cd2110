"""Service levels for the regulator: the tenant's own rules next to order 186's.

Minenergo order 186 sets the service-quality standards grid companies report against. A grid
tenant may run stricter rules of its own (a policy version with a 10-minute office queue where
the order allows 30), and its outcomes say how it did by those; the regulator's figure must not
be that one. So for a grid tenant the regulatory figure is the contacts of the period
re-evaluated under the ``minenergo-186`` preset by the pure core (services.analytics.history,
the what-if's loop: same events, same fold, same clocks), and the own-policy figure, read from
``outcomes FINAL``, is given beside it. Retail and heat tenants are not under order 186: their
regulatory figure is their own.

Both cover the same contacts: those whose first event lies in the period (and regions). The
order-186 clocks are measured at the contacts' latest stored event (as `kontakt sla evaluate`
and the what-if do); a clock the worker's timer has since judged breached may still read open
there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.analytics import history, sql
from services.analytics.scope import Scope
from services.auth import TenantType
from services.ports import Warehouse
from streams.sla.metrics import compliance
from streams.sla.policy import load_policy

#: The preset a grid company's regulatory figures are computed under.
REGULATOR_PRESET = "minenergo-186"
STATUSES = ("met", "breached", "open", "cancelled")


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    basis: str  # "minenergo-186" or "own_policy": which figure `regulatory` is
    contacts: int
    as_of: int | None  # the order-186 evaluation instant (None: not re-evaluated)
    rows: list[dict[str, Any]]  # per milestone


def own_policy_sql(scope: Scope, settings_sql: str) -> str:
    """Per milestone, the status counts of the newest revision of each clock of the contacts
    in scope, as the tenant's own policies judged them."""
    counts = ", ".join(f"countIf(status = '{s}')" for s in STATUSES)
    return (
        f"SELECT milestone, {counts} FROM {sql.OUTCOMES} FINAL "
        f"WHERE tenant = {{tenant:String}} AND contact_id IN ({sql.contacts_in_scope(scope)}) "
        f"GROUP BY milestone ORDER BY milestone {settings_sql}"
    )


def figures(counts: Mapping[str, int]) -> dict[str, Any]:
    """Status counts -> the report's figures (service level = met / (met + breached))."""
    row = {s: int(counts.get(s, 0)) for s in STATUSES}
    decided = row["met"] + row["breached"]
    return {"total": sum(row.values()), **row,
            "service_level": row["met"] / decided if decided else None}


def own_policy(warehouse: Warehouse, scope: Scope, settings_sql: str) -> dict[str, dict[str, Any]]:
    rows = warehouse.query(own_policy_sql(scope, settings_sql), sql.scope_params(scope, 0, 1))
    return {m: figures(dict(zip(STATUSES, counts, strict=True))) for m, *counts in rows}


def under_preset(outcomes: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Re-evaluated outcomes -> figures per milestone (streams.sla.metrics.compliance)."""
    return {r["milestone"]: figures(r) for r in compliance(outcomes, group_by=())}


def service_levels(
    warehouse: Warehouse, tenant_type: TenantType, scope: Scope, *, settings_sql: str,
    max_contacts: int | None = None,
) -> ServiceLevels:
    """The regulatory service levels of ``scope`` (see the module docstring);
    history.TooManyContacts when a grid tenant's period is too large to re-evaluate."""
    own = own_policy(warehouse, scope, settings_sql)
    if tenant_type is not TenantType.GRID:
        own_rows: list[dict[str, Any]] = [
            {"milestone": m, "regulatory": f, "own_policy": f} for m, f in own.items()]
        return ServiceLevels("own_policy", history.count_contacts(warehouse, scope), None,
                             own_rows)
    done = history.evaluate_scope(warehouse, [load_policy(REGULATOR_PRESET)], scope,
                                  max_contacts=max_contacts)
    regulated = under_preset(done.outcomes[0])
    rows: list[dict[str, Any]] = [
        {"milestone": m, "regulatory": regulated.get(m), "minenergo_186": regulated.get(m),
         "own_policy": own.get(m)} for m in sorted(set(own) | set(regulated))]
    return ServiceLevels(REGULATOR_PRESET, done.contacts, done.as_of, rows)
