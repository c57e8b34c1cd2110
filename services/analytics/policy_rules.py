"""The tenants' policy versions as the warehouse keeps them, for backfill and what-if.

The sink copies every PolicyVersionPublished into ``policy_versions`` (one row per version and
scope, schemas/clickhouse/014). Re-evaluating stored history by the rules each contact was
judged by live means reading those versions back into the same ``Rules`` the worker uses, so a
backfill writes what the worker wrote (streams.sla.versions selects; nothing here decides).
"""

from __future__ import annotations

import json
from typing import Any

from services.ports import Warehouse
from streams.sla.policy import Policy
from streams.sla.versions import PolicyVersion, Rules, book_of, parse_version

_VERSIONS_SQL = (
    "SELECT tenant, policy_version, scope, region, queue, "
    "toUnixTimestamp64Milli(effective_from), toUnixTimestamp64Milli(published_at), "
    "published_by, comment, document FROM policy_versions FINAL "
    "ORDER BY tenant, policy_version, scope"
)


def stored_versions(warehouse: Warehouse) -> list[PolicyVersion]:
    """Every version in the warehouse, rebuilt from its scopes' rows."""
    docs: dict[tuple[str, int], dict[str, Any]] = {}
    meta: dict[tuple[str, int], tuple[int, str]] = {}
    for (tenant, number, scope, region, queue, effective, published_at, published_by,
         comment, document) in warehouse.query(_VERSIONS_SQL):
        key = (str(tenant), int(number))
        doc = docs.setdefault(key, {"effective_from": int(effective), "comment": comment,
                                    "overrides": []})
        meta[key] = (int(published_at), str(published_by))
        rules = json.loads(document)
        if scope == "default":
            doc["default"] = rules
        else:
            where = {k: v for k, v in (("region", region), ("queue", queue)) if v is not None}
            doc["overrides"].append({**where, **rules})
    return [parse_version(doc, tenant, number, f"policy_versions {tenant} v{number}",
                          published_by=meta[(tenant, number)][1],
                          published_at=meta[(tenant, number)][0])
            for (tenant, number), doc in sorted(docs.items())]


def stored_rules(warehouse: Warehouse, fallback: Policy) -> Rules:
    """``fallback`` for tenants (and instants) without versions, the stored versions over it."""
    return Rules(fallback, book_of(stored_versions(warehouse)))
