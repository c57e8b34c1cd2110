"""What changes between two policy versions, milestone by milestone and scope by scope (pure).

A scope is the default or one override (region, queue, or both) of either version. For each,
the two versions' *effective* policies are compared -- what a contact in that scope is judged
by: a version without an override for the scope judges it by its next most specific rules
(streams/sla/versions.py), so adding an override for region 77 shows as region 77's milestones
changing from the default's to the override's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import format_timestamp
from streams.sla.explain import human_duration
from streams.sla.policy import Milestone, Policy
from streams.sla.versions import PolicyVersion, scope_key

_NOWHERE = "\x00"  # a region no contact has: the scope names no region


@dataclass(frozen=True, slots=True)
class Change:
    scope: str  # "version", "default", "region=77", "queue=vip", "region=77,queue=vip"
    milestone: str  # "" for the version or the scope as a whole
    field: str
    before: str
    after: str


def _scopes(v: PolicyVersion) -> list[tuple[str | None, str | None]]:
    return [(o.region, o.queue) for o in v.overrides]


def _effective(v: PolicyVersion, region: str | None, queue: str | None) -> tuple[Policy, str]:
    """The policy judging the scope in ``v``, and where it comes from (a scope key)."""
    if region is None and queue is None:
        return v.default, "default"
    best = None
    for o in v.overrides:
        if o.matches(region if region is not None else _NOWHERE, queue) and (
                best is None or o.rank > best.rank):
            best = o
    if best is None:
        return v.default, "default"
    return best.policy, scope_key(best.region, best.queue)


def _names(values: Iterable[object]) -> str:
    return ", ".join(sorted(str(getattr(x, "value", x)) for x in values)) or "(any)"


def _fields(m: Milestone) -> dict[str, str]:
    out = {
        "target": human_duration(m.target_ms),
        "warnings": ", ".join(f"{w:g}" for w in m.warnings) or "(none)",
        "calendar": m.calendar,
        "channels": _names(m.channels),
        "kinds": _names(m.kinds),
        "start": m.start.value,
        "stop": _names(m.stop_all),
        "cancel": _names(m.cancel) if m.cancel else "(none)",
        "abandon_rule": str(m.abandon_rule).lower(),
        "pausable": str(m.pausable).lower(),
    }
    for category, ms in m.category_targets.items():
        out[f"category_targets.{category.value}"] = human_duration(ms)
    return out


def diff_policies(scope: str, a: Policy, b: Policy) -> list[Change]:
    changes: list[Change] = []
    if a.name != b.name:
        changes.append(Change(scope, "", "policy", a.name, b.name))
    ms_a = {m.id: m for m in a.milestones}
    ms_b = {m.id: m for m in b.milestones}
    order = [m.id for m in a.milestones] + [i for i in ms_b if i not in ms_a]
    for mid in order:
        if mid not in ms_b:
            changes.append(Change(scope, mid, "milestone", "present", "removed"))
            continue
        if mid not in ms_a:
            fb = _fields(ms_b[mid])
            changes.append(Change(scope, mid, "milestone", "absent",
                                  f"added: target {fb['target']}, calendar {fb['calendar']}"))
            continue
        fa, fb = _fields(ms_a[mid]), _fields(ms_b[mid])
        for name in dict.fromkeys([*fa, *fb]):
            before, after = fa.get(name, "(none)"), fb.get(name, "(none)")
            if before != after:
                changes.append(Change(scope, mid, name, before, after))
    return changes


def diff_versions(a: PolicyVersion, b: PolicyVersion) -> list[Change]:
    """Every difference that changes how a contact is judged, plus the version's own dates and
    comment; [] when the two judge every contact alike."""
    changes: list[Change] = []
    if a.effective_from != b.effective_from:
        changes.append(Change("version", "", "effective_from", format_timestamp(a.effective_from),
                              format_timestamp(b.effective_from)))
    if a.comment != b.comment:
        changes.append(Change("version", "", "comment", a.comment, b.comment))
    scopes: list[tuple[str | None, str | None]] = [(None, None)]
    for s in [*_scopes(a), *_scopes(b)]:
        if s not in scopes:
            scopes.append(s)
    for region, queue in scopes:
        key = scope_key(region, queue)
        pa, from_a = _effective(a, region, queue)
        pb, from_b = _effective(b, region, queue)
        if from_a != from_b:
            changes.append(Change(key, "", "rules from", _origin(key, from_a),
                                  _origin(key, from_b)))
        changes.extend(diff_policies(key, pa, pb))
    return changes


def _origin(scope: str, source: str) -> str:
    return "its own override" if source == scope else (
        "the default" if source == "default" else f"the {source} override")


def format_diff(a: PolicyVersion, b: PolicyVersion, changes: list[Change]) -> list[str]:
    """Readable lines, grouped by scope then milestone."""
    head = f"{a.tenant}: version {a.version} -> version {b.version}"
    if not changes:
        return [head, "  no differences"]
    lines = [head]
    scope = milestone = None
    for c in changes:
        if c.scope != scope:
            scope, milestone = c.scope, None
            lines.append(f"[{c.scope}]")
        if c.milestone != milestone:
            milestone = c.milestone
            if c.milestone:
                lines.append(f"  {c.milestone}")
        indent = "    " if c.milestone else "  "
        lines.append(f"{indent}{c.field}: {c.before} -> {c.after}")
    return lines
