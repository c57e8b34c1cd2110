"""Notification rules: which alerts go to which webhook or mailbox, and when to keep quiet.

A TOML file (settings.notify_rules; docs/board.md "Notifications") holds an optional [smtp]
table and any number of [[rules]]. A rule matches an alert by tenant, region, milestone and
severity (each list empty = any). Quiet hours ("22:00-07:00", in the rule's time zone or else the
alert region's) suppress every severity not listed in ``quiet_allow``. Pure: no I/O but
reading the file, the instant is passed in.

Severity: breached and outage storms are "critical", warnings at >= 90% of the target "high",
other warnings "warning", met/cancelled "info".

Appeal rules (``appeal_contacts`` and/or ``appeal_wait_min`` set): they match only appeals as
the worker links them live (AppealUpdated on the appeals topic), milestone "appeal", severity
"high", when the appeal has at least that many contacts or the customer has waited at least
that long; each appeal is notified once per rule (alert id ``appeal:<tenant>:<appeal_id>``).
SLA rules never match appeals.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.units import MINUTE_MS
from services.errors import UserError
from streams.sla.regions import timezone_for

SEVERITIES = ("info", "warning", "high", "critical")
STORM_MILESTONE = "outage_storm"
APPEAL_MILESTONE = "appeal"
APPEAL_UPDATED = "AppealUpdated"


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "kontakt@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    tenants: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    milestones: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset({"critical"})
    webhook: str | None = None
    secret: str = ""
    email: tuple[str, ...] = ()
    quiet_hours: tuple[time, time] | None = None
    quiet_allow: frozenset[str] = frozenset()
    timezone: str | None = None
    appeal_contacts: int | None = None  # an appeal rule: at least this many contacts...
    appeal_wait_min: float | None = None  # ...or at least this much customer waiting time

    @property
    def for_appeals(self) -> bool:
        return self.appeal_contacts is not None or self.appeal_wait_min is not None


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    smtp: Smtp = field(default_factory=Smtp)


@dataclass(frozen=True, slots=True)
class Alert:
    """What a rule looks at, from an SlaAlertRaised or OutageStormSuspected record."""

    alert_id: str
    kind: str  # warning | breached | met | cancelled | outage_storm
    severity: str
    tenant: str  # '' for a v1 storm (counted over every tenant of the region)
    region: str
    channel: str
    milestone: str
    datum: Mapping[str, Any]


def severity(kind: str, threshold: float | None) -> str:
    if kind in ("breached", STORM_MILESTONE):
        return "critical"
    if kind == "warning":
        return "high" if (threshold or 0.0) >= 0.9 else "warning"
    return "info"


def alert_of(record_name: str, datum: Mapping[str, Any]) -> Alert | None:
    if record_name == "SlaAlertRaised":
        return Alert(datum["alert_id"], datum["alert"], severity(datum["alert"],
                     datum.get("threshold")), datum["tenant"], datum["region"], datum["channel"],
                     datum["milestone"], datum)
    if record_name == APPEAL_UPDATED:
        return Alert(f"appeal:{datum['tenant']}:{datum['appeal_id']}", APPEAL_MILESTONE, "high",
                     datum["tenant"], datum["region"], datum["channel"], APPEAL_MILESTONE,
                     datum)
    if record_name == "OutageStormSuspected":
        return Alert(datum["alert_id"], STORM_MILESTONE, "critical", datum.get("tenant", ""),
                     datum["region"], "phone", STORM_MILESTONE, datum)
    return None


RETRACTED = "SlaAlertRetracted"


@dataclass(frozen=True, slots=True)
class Retraction:
    """A withdrawn breach (SlaAlertRetracted): no rule is matched against it. Its correction
    goes to exactly the (rule, channel) pairs the ledger shows were sent the breach."""

    retraction_id: str
    alert_id: str  # the retracted breach's
    tenant: str
    region: str
    channel: str
    milestone: str
    datum: Mapping[str, Any]


def retraction_of(record_name: str, datum: Mapping[str, Any]) -> Retraction | None:
    if record_name != RETRACTED:
        return None
    return Retraction(datum["retraction_id"], datum["alert_id"], datum["tenant"],
                      datum["region"], datum["channel"], datum["milestone"], datum)


def in_quiet_hours(rule: Rule, alert: Alert, instant_ms: int) -> bool:
    if rule.quiet_hours is None:
        return False
    zone = ZoneInfo(rule.timezone or timezone_for(alert.region))
    local = datetime.fromtimestamp(instant_ms / 1000, UTC).astimezone(zone).time()
    start, end = rule.quiet_hours
    return start <= local < end if start <= end else (local >= start or local < end)


def appeal_crossed(rule: Rule, alert: Alert) -> bool:
    """An appeal rule's threshold: contacts, or the customer's waiting time so far."""
    d = alert.datum
    return (
        (rule.appeal_contacts is not None and len(d["contact_ids"]) >= rule.appeal_contacts)
        or (rule.appeal_wait_min is not None and d["wait_ms"] >= rule.appeal_wait_min * MINUTE_MS)
    )


def matches(rule: Rule, alert: Alert) -> bool:
    if rule.for_appeals != (alert.kind == APPEAL_MILESTONE):
        return False
    if rule.for_appeals and not appeal_crossed(rule, alert):
        return False
    return (
        (not rule.tenants or not alert.tenant or alert.tenant in rule.tenants)
        and (not rule.regions or alert.region in rule.regions)
        and (not rule.milestones or alert.milestone in rule.milestones)
        and (not rule.severities or alert.severity in rule.severities)
    )


def decide(rule: Rule, alert: Alert, instant_ms: int) -> str | None:
    """None when the rule does not apply; 'send' or 'quiet' when it does."""
    if not matches(rule, alert):
        return None
    if in_quiet_hours(rule, alert, instant_ms) and alert.severity not in rule.quiet_allow:
        return "quiet"
    return "send"


# --- the file ------------------------------------------------------------------------------
def _hours(text: str, where: str) -> tuple[time, time]:
    try:
        a, b = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise UserError(f"{where}: quiet_hours must look like \"22:00-07:00\"") from None
    return a, b


def _secret(table: Mapping[str, Any], where: str) -> str:
    if "secret_env" in table:
        value = os.environ.get(str(table["secret_env"]), "")
        if not value:
            raise UserError(f"{where}: environment variable {table['secret_env']} is not set")
        return value
    return str(table.get("secret", ""))


def _positive(table: Mapping[str, Any], name: str, where: str, kind: type) -> Any:
    if name not in table:
        return None
    value = table[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 \
            or (kind is int and not isinstance(value, int)):
        raise UserError(f"{where}: {name} must be a positive {kind.__name__}, not {value!r}")
    return kind(value)


def _rule(table: Mapping[str, Any], where: str) -> Rule:
    severities = frozenset(table.get("severities", ["critical"]))
    unknown = severities - set(SEVERITIES) | (frozenset(table.get("quiet_allow", ())) -
                                               set(SEVERITIES))
    if unknown:
        raise UserError(f"{where}: unknown severities {sorted(unknown)}; use {SEVERITIES}")
    rule = Rule(
        name=str(table.get("name") or where),
        tenants=frozenset(table.get("tenants", ())),
        regions=frozenset(table.get("regions", ())),
        milestones=frozenset(table.get("milestones", ())),
        severities=severities,
        webhook=table.get("webhook"),
        secret=_secret(table, where),
        email=tuple(table.get("email", ())),
        quiet_hours=_hours(table["quiet_hours"], where) if table.get("quiet_hours") else None,
        quiet_allow=frozenset(table.get("quiet_allow", ())),
        timezone=table.get("timezone"),
        appeal_contacts=_positive(table, "appeal_contacts", where, int),
        appeal_wait_min=_positive(table, "appeal_wait_min", where, float),
    )
    if rule.for_appeals and "severities" not in table:
        rule = dataclasses.replace(rule, severities=frozenset({"high"}))
    if not rule.webhook and not rule.email:
        raise UserError(f"{where}: a rule needs a webhook or an email list")
    if rule.webhook and not rule.secret:
        raise UserError(f"{where}: a webhook needs a secret (secret or secret_env) to sign with")
    if rule.timezone:
        ZoneInfo(rule.timezone)
    return rule


def load_rules(path: Path) -> RuleSet:
    """Read and check a rules file; a mistake is one UserError naming the rule and field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read notification rules {path}: {exc}") from None
    smtp_t = raw.get("smtp", {})
    smtp = Smtp(host=smtp_t.get("host", "127.0.0.1"), port=int(smtp_t.get("port", 25)),
                sender=smtp_t.get("from", "kontakt@localhost"),
                starttls=bool(smtp_t.get("starttls", False)), username=smtp_t.get("username"),
                password=os.environ.get(smtp_t["password_env"]) if "password_env" in smtp_t
                else None)
    rules = tuple(_rule(t, f"{path.name} rules[{i}]") for i, t in enumerate(raw.get("rules", [])))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: rule names must be unique (they key the de-duplication)")
    return RuleSet(rules, smtp)
