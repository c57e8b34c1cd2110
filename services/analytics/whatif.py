"""What-if: the stored history re-evaluated under another policy, next to the actual one.

Both columns come from the same pure core over the same contacts at the same instant, so the
difference is the policy's and nothing else: "actual" is the policy the worker runs
(settings.sla_policy, or --actual), "what-if" the candidate. Compliance per milestone and group
is streams.sla.metrics.compliance, the function `kontakt sla metrics` prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.analytics import history
from services.analytics.history import TooManyContacts as TooManyContacts  # re-exported
from services.analytics.scope import Scope
from services.ports import Warehouse
from streams.sla.clock import Outcome
from streams.sla.metrics import compliance
from streams.sla.policy import Policy
from streams.sla.versions import Rules


@dataclass(frozen=True, slots=True)
class WhatIf:
    contacts: int
    as_of: int | None
    rows: list[dict[str, Any]]


def side_by_side(
    actual: list[dict[str, Any]], candidate: list[dict[str, Any]], group_by: Sequence[str]
) -> list[dict[str, Any]]:
    """Join two compliance tables on (milestone, *group_by)."""
    keys = ("milestone", *group_by)

    def index(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {tuple(r[k] for k in keys): r for r in rows}

    a, w = index(actual), index(candidate)
    out: list[dict[str, Any]] = []
    for key in sorted(set(a) | set(w), key=lambda k: tuple(map(str, k))):
        ra, rw = a.get(key, {}), w.get(key, {})
        sl_a, sl_w = ra.get("met_share"), rw.get("met_share")
        out.append({
            **dict(zip(keys, key, strict=True)),
            "actual_target_s": None,
            "total": ra.get("total", rw.get("total", 0)),
            "actual_met": ra.get("met", 0), "actual_breached": ra.get("breached", 0),
            "actual_sl": sl_a,
            "whatif_met": rw.get("met", 0), "whatif_breached": rw.get("breached", 0),
            "whatif_sl": sl_w,
            "delta_sl": None if sl_a is None or sl_w is None else sl_w - sl_a,
        })
    return out


def run_whatif(
    warehouse: Warehouse,
    actual: Policy | Rules,
    candidate: Policy,
    scope: Scope,
    *,
    group_by: Sequence[str] = (),
    max_contacts: int | None = None,
    on_total: Callable[[int], None] | None = None,
    progress: history.Progress | None = None,
) -> WhatIf:
    done = history.evaluate_scope(warehouse, [actual, candidate], scope,
                                  max_contacts=max_contacts, on_total=on_total,
                                  progress=progress)
    if done.as_of is None:
        return WhatIf(0, None, [])
    outcomes_a, outcomes_w = done.outcomes
    rows = side_by_side(
        compliance(outcomes_a, group_by=group_by), compliance(outcomes_w, group_by=group_by),
        group_by,
    )
    targets_a = (common_targets(outcomes_a) if isinstance(actual, Rules)
                 else {m.id: m.target_ms for m in actual.milestones})
    targets_w = {m.id: m.target_ms for m in candidate.milestones}
    for row in rows:
        row["actual_target_s"] = _seconds(targets_a.get(row["milestone"]))
        row["whatif_target_s"] = _seconds(targets_w.get(row["milestone"]))
    return WhatIf(done.contacts, done.as_of, rows)


def common_targets(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Per milestone, the target most of its clocks had: with tenants' versions the "actual"
    policy is not one policy, and the sentence names the target that judged most clocks."""
    counts: dict[str, Counter[int]] = {}
    for o in outcomes:
        counts.setdefault(o.milestone, Counter())[o.target_ms] += 1
    return {m: c.most_common(1)[0][0] for m, c in counts.items()}


def rules_name(rules: Policy | Rules, tenant: str | None) -> str:
    """What judged the "actual" side, for the answer: a policy's name, or the versions."""
    if not isinstance(rules, Rules):
        return rules.name
    if tenant is not None and tenant not in rules.book:
        return rules.fallback.name
    return f"the tenants' policy versions (default {rules.fallback.name})"


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def sentences(rows: list[dict[str, Any]], group_by: Sequence[str]) -> list[str]:
    """"If phone.answer's target were 30 s, SL would have been 81.2 % (actual 90.5 % at 40 s)"."""
    out = []
    for row in rows:
        if None in (row["actual_sl"], row["whatif_sl"], row["actual_target_s"],
                    row["whatif_target_s"]):
            continue
        where = ", ".join(f"{g}={row[g]}" for g in group_by)
        target = row["whatif_target_s"]
        out.append(
            f"if {row['milestone']}'s target were {target:g} s"
            f"{f' ({where})' if where else ''}, SL would have been {row['whatif_sl']:.1%} "
            f"(actual {row['actual_sl']:.1%} at {row['actual_target_s']:g} s)"
        )
    return out
