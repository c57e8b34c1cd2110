"""A readable timeline of one contact's clocks (for `kontakt sla explain`).

Shows each event at UTC and local time with its offset from the first event, the anomalies,
and for every milestone what started, paused, stopped the clock and how much of the target was
used. Pure: returns lines of text.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from schemas.units import DAY_MS, HOUR_MS, MINUTE_MS
from streams.sla.clock import evaluate
from streams.sla.policy import Policy
from streams.sla.regions import timezone_for
from streams.sla.replay import format_instant
from streams.sla.state import ContactState
from streams.sla.versions import Rules, rules_of, version_at


def human_duration(ms: int) -> str:
    """12345678 -> '3h 25m 45.678s' (days, hours, minutes, seconds; zero parts left out)."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    days, rest = divmod(ms, DAY_MS)
    hours, rest = divmod(rest, HOUR_MS)
    minutes, rest = divmod(rest, MINUTE_MS)
    seconds = f"{rest / 1000:g}s" if rest or not (days or hours or minutes) else ""
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "",
             f"{minutes}m" if minutes else "", seconds]
    return sign + " ".join(p for p in parts if p)


def _local(epoch_ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, zone).strftime("%a %Y-%m-%d %H:%M:%S")


def explain(state: ContactState, policy: Policy | Rules, now: int) -> list[str]:
    """Timeline lines of ``state`` evaluated at ``now`` under ``policy`` (or the version of its
    tenant's rules that ``policy`` selects for it)."""
    rules = rules_of(policy)
    policy = rules.for_state(state)
    judged_by = (f"policy {policy.name}" if not policy.version else
                 f"policy {policy.name}, {state.tenant} version {policy.version} "
                 f"(in force from {format_instant(_in_force(rules, state))})")
    zone_name = timezone_for(state.region)
    zone = ZoneInfo(zone_name)
    first = state.events[0].occurred_at
    lines = [
        f"contact {state.contact_id}  tenant {state.tenant}  region {state.region} ({zone_name})",
        f"channel {state.channel.value}  kind {state.kind.value}  "
        f"category {state.customer_category.value}  office {state.office or '-'}",
        f"{judged_by}, evaluated at {format_instant(now)}",
        "",
        "events (UTC | local | since first):",
    ]
    for e in state.events:
        later = "  (after as-of, not counted)" if e.occurred_at > now else ""
        lines.append(
            f"  {format_instant(e.occurred_at)} | {_local(e.occurred_at, zone)} | "
            f"+{human_duration(e.occurred_at - first):<14} {e.type.value:<19} {e.event_id}{later}"
        )
    lines += ["", "anomalies:"] + [f"  ! {a}" for a in state.anomalies] if state.anomalies \
        else ["", "anomalies: none"]
    lines += ["", "clocks:"]
    outcomes = evaluate(state, policy, now)
    if not outcomes:
        lines.append("  no milestone of this policy has started for this contact")
    for o in outcomes:
        used = f"{o.elapsed_ms / o.target_ms:.0%}" if o.target_ms else "-"
        stopped = (f"stopped {format_instant(o.stopped_at)} by {o.ended_by}"
                   if o.stopped_at is not None else ("paused" if o.paused else "running"))
        warned = ", ".join(f"{w:.0%}" for w in o.warnings_crossed) or "none"
        due = format_instant(o.due_at) if o.due_at is not None else "unknown while paused"
        lines += [
            f"  {o.milestone}: {o.status.value.upper()}  ({o.calendar})",
            f"    started {format_instant(o.started_at)}  due {due}  {stopped}",
            f"    elapsed {human_duration(o.elapsed_ms)} of {human_duration(o.target_ms)}"
            f" ({used}); warnings crossed: {warned}",
        ]
    return lines


def _in_force(rules: Rules, state: ContactState) -> int:
    found = version_at(rules.book, state.tenant, state.events[0].occurred_at)
    return 0 if found is None else found.effective_from
