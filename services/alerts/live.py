"""What the live board shows, folded from the records of the alerts, outcomes, metrics and
acknowledgements topics. Pure: records in, board updates out; ``now`` is passed in.

Updates are small dicts ``{"type": ..., "data": {...}}`` with the tenant/region/channel they
belong to, so the hub can give each subscriber only what its key and filters allow:
- ``group``  a metrics row (services.alerts.metrics_view);
- ``alert``  an SLA warning or breach for the feed (met/cancelled only clear the at-risk list);
- ``risk``   an open clock that crossed a warning or breached, with its due instant, or its
             removal (``removed: true``) once it stopped;
- ``storm``  an outage-storm banner: of one tenant (OutageStormSuspected v2), or of no known
             tenant (v1, counted over a whole region). A subscriber sees its own tenant's
             storms; the region-wide view (``Scope.region_storms``) sees every tenant's;
- ``ack``    an acknowledgement or follow-up of an alert;
- ``alert``/``risk`` items carry ``repeat`` when the contact is not the first of its appeal
             (AppealUpdated, the worker's live linking): ``{"nth", "within_ms", "appeal_id",
             "resolved"}`` -- the page says 'repeat: 3rd contact in 2 days'. An appeal update
             that makes a contact a repeat re-sends its feed and at-risk items;
- ``appeal_group`` the customer's time of the appeals with a contact in the last 24 h, per
             tenant, region, channel and customer category (appeals, contacts, wait_ms, fcr; from
             AppealUpdated), so the page can put disabled, veteran and vulnerable customers
             next to everyone else for whatever region/channel it shows;
- ``retract`` a breach withdrawn (SlaAlertRetracted: the event that met or cancelled the clock
             in time was read after the breach was raised): ``{"alert_id", "key",
             "retracted": {"at", "status", "reason", ...}}``. The feed item keeps its place with
             ``retracted`` set (the page strikes it through); the clock's ``key`` leaves the
             at-risk list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.units import HOUR_MS
from services.alerts.metrics_view import Group, MetricsView

SLA_ALERT = "SlaAlertRaised"
STORM = "OutageStormSuspected"
OUTCOME = "MilestoneOutcomeEvaluated"
METRICS = "MetricsSnapshotTaken"
ACKNOWLEDGED = "AlertAcknowledged"
FOLLOW_UP = "FollowUpMarked"
RETRACTED = "SlaAlertRetracted"
APPEAL = "AppealUpdated"
FEED_KINDS = frozenset({"warning", "breached"})
MAX_REMEMBERED = 200_000  # alert ids kept for acknowledgements (about a day of a large centre)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data a subscriber may see (tenant from its key; None = every tenant) and the
    region/channel filters it chose (None = all). ``region_storms``: also the storms of every
    other tenant (and tenant-less v1 storms) of the regions it sees -- the region-wide view,
    which the API grants only to a key with the region-storms scope."""

    tenant: str | None
    region: str | None = None
    channel: str | None = None
    region_storms: bool = False

    def admits(self, tenant: str | None, region: str | None, channel: str | None) -> bool:
        if self.tenant is not None and tenant is not None and tenant != self.tenant:
            return False
        if self.region and region and region != self.region:
            return False
        return not (self.channel and channel and channel != self.channel)

    def admits_update(self, update: Update) -> bool:
        tenant = None if update.region_wide and self.region_storms else update.tenant
        return self.admits(tenant, update.region, update.channel)


@dataclass(frozen=True, slots=True)
class Update:
    """``tenant`` None: for every tenant. ``region_wide``: a storm (or an action on one) that
    the region-wide view shows whatever its tenant."""

    type: str
    data: dict[str, Any]
    tenant: str | None
    region: str | None
    channel: str | None
    region_wide: bool = False

    def message(self) -> dict[str, Any]:
        return {"type": self.type, "data": self.data}


class LiveBoard:
    """In-memory state of the board; one per API process."""

    def __init__(self, *, feed_size: int = 300, risk_keep_ms: int = 12 * HOUR_MS,
                 storm_keep_ms: int = HOUR_MS) -> None:
        self.metrics = MetricsView()
        self.feed: OrderedDict[str, dict[str, Any]] = OrderedDict()  # alert_id -> alert
        self.risks: dict[str, dict[str, Any]] = {}  # contact_id|milestone -> risk
        self.storms: dict[str, dict[str, Any]] = {}
        self.acks: OrderedDict[str, dict[str, Any]] = OrderedDict()  # alert_id -> ack state
        # alert_id -> retraction, so a re-sent breach still shows as withdrawn
        self.retractions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # alert_id -> (tenant, region, channel), for acknowledging from the page
        self.alerts_seen: OrderedDict[str, tuple[str, str, str]] = OrderedDict()
        # contact_id -> its repeat note (a contact that is not the first of its appeal)
        self.repeats: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # (tenant, appeal_id) -> (group key, latest contact, contacts, wait_ms, fcr) it adds
        self.appeals: OrderedDict[tuple[str, str], tuple[str, int, int, int, int]] = \
            OrderedDict()
        self.appeal_groups: dict[str, dict[str, Any]] = {}  # group key -> sums
        self.appeal_keep_ms = 24 * HOUR_MS
        self.feed_size = feed_size
        self.risk_keep_ms = risk_keep_ms
        self.storm_keep_ms = storm_keep_ms

    # --- folding records ---------------------------------------------------------------------
    def apply(self, name: str, datum: Mapping[str, Any]) -> list[Update]:
        handler = _HANDLERS.get(name)
        return handler(self, datum) if handler else []

    def apply_batch(self, records: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Update]:
        """Like apply() for each record, but each touched metrics group's row is computed once,
        at the end: the worker re-sends every group each tick, so rows are the hot path."""
        out: list[Update] = []
        touched: dict[Group, None] = {}
        for name, datum in records:
            if name == METRICS:
                group = self.metrics.add(datum)
                if group is not None:
                    touched[group] = None
            else:
                out.extend(self.apply(name, datum))
        for group in touched:
            row = self.metrics.row(group)
            out.append(Update("group", row, row["tenant"], row["region"], row["channel"]))
        return out

    def _metrics(self, datum: Mapping[str, Any]) -> list[Update]:
        group = self.metrics.add(datum)
        if group is None:
            return []
        row = self.metrics.row(group)
        return [Update("group", row, row["tenant"], row["region"], row["channel"])]

    def _sla_alert(self, datum: Mapping[str, Any]) -> list[Update]:
        alert: dict[str, Any] = {k: datum.get(k) for k in (
            "alert_id", "alert", "threshold", "contact_id", "milestone", "status", "started_at",
            "due_at", "stopped_at", "elapsed_ms", "target_ms", "raised_at", "tenant", "region",
            "channel", "contact_kind", "customer_category", "office")}
        alert["repeat"] = self.repeats.get(alert["contact_id"])
        where = (alert["tenant"], alert["region"], alert["channel"])
        self._remember(alert["alert_id"], where)
        out: list[Update] = []
        if alert["alert"] in FEED_KINDS:
            alert["ack"] = self.acks.get(alert["alert_id"])
            alert["retracted"] = self.retractions.get(alert["alert_id"])
            self.feed[alert["alert_id"]] = alert
            self.feed.move_to_end(alert["alert_id"])
            while len(self.feed) > self.feed_size:
                self.feed.popitem(last=False)
            out.append(Update("alert", alert, *where))
        out.extend(self._risk(alert))
        return out

    def _outcome(self, datum: Mapping[str, Any]) -> list[Update]:
        return self._risk({**datum, "alert": None})

    def _risk(self, rec: Mapping[str, Any]) -> list[Update]:
        """Keep open clocks that warned or breached; drop them once the clock stopped."""
        key = f"{rec['contact_id']}|{rec['milestone']}"
        where = (rec["tenant"], rec["region"], rec["channel"])
        stopped = rec.get("stopped_at") is not None or rec["status"] in ("met", "cancelled")
        if stopped:
            if self.risks.pop(key, None) is None:
                return []
            return [Update("risk", {"key": key, "removed": True}, *where)]
        at_risk = rec["status"] == "breached" or rec.get("alert") == "warning" or bool(
            rec.get("warnings_crossed"))
        if not at_risk or rec.get("due_at") is None:
            return []
        old = self.risks.get(key, {})
        risk = {
            "key": key,
            "contact_id": rec["contact_id"],
            "milestone": rec["milestone"],
            "status": rec["status"],
            "started_at": rec["started_at"],
            "due_at": rec["due_at"],
            "target_ms": rec["target_ms"],
            "tenant": rec["tenant"],
            "region": rec["region"],
            "channel": rec["channel"],
            "office": rec.get("office"),
            "customer_category": rec.get("customer_category"),
            "alert_id": rec.get("alert_id") or old.get("alert_id"),
            "repeat": self.repeats.get(rec["contact_id"]),
        }
        if old == risk:
            return []
        self.risks[key] = risk
        return [Update("risk", risk, *where)]

    def _storm(self, datum: Mapping[str, Any]) -> list[Update]:
        """A storm belongs to its tenant: '' (a v1 storm, over every tenant of the region) is
        nobody's, so only the region-wide view shows it."""
        storm = {**datum, "tenant": datum.get("tenant") or ""}
        storm["ack"] = self.acks.get(storm["alert_id"])
        self.storms[storm["alert_id"]] = storm
        self._remember(storm["alert_id"], (storm["tenant"], storm["region"], "phone"))
        return [Update("storm", storm, storm["tenant"], storm["region"], "phone",
                       region_wide=True)]

    def _ack(self, datum: Mapping[str, Any], follow_up: bool) -> list[Update]:
        alert_id = datum["alert_id"]
        state = dict(self.acks.get(alert_id) or {"alert_id": alert_id})
        if follow_up:
            state.update(follow_up=datum["action"], follow_up_by=datum["marked_by"],
                         follow_up_at=datum["marked_at"], follow_up_note=datum.get("note"))
        else:
            state.update(acknowledged_by=datum["acknowledged_by"],
                         acknowledged_at=datum["acknowledged_at"], note=datum.get("note"))
        self.acks[alert_id] = state
        self.acks.move_to_end(alert_id)
        while len(self.acks) > MAX_REMEMBERED:
            self.acks.popitem(last=False)
        for holder in (self.feed, self.storms):
            if alert_id in holder:
                holder[alert_id]["ack"] = state
        tenant = datum.get("tenant") or None
        return [Update("ack", state, tenant, datum.get("region"), datum.get("channel"),
                       region_wide=alert_id in self.storms)]

    def _retract(self, datum: Mapping[str, Any]) -> list[Update]:
        alert_id = datum["alert_id"]
        retracted = {k: datum.get(k) for k in (
            "retraction_id", "status", "reason", "stopped_at", "elapsed_ms")}
        retracted["at"] = datum["retracted_at"]
        self.retractions[alert_id] = retracted
        self.retractions.move_to_end(alert_id)
        while len(self.retractions) > MAX_REMEMBERED:
            self.retractions.popitem(last=False)
        if alert_id in self.feed:
            self.feed[alert_id]["retracted"] = retracted
        key = f"{datum['contact_id']}|{datum['milestone']}"
        self.risks.pop(key, None)
        return [Update("retract", {"alert_id": alert_id, "key": key, "retracted": retracted},
                       datum["tenant"], datum["region"], datum["channel"])]

    def _appeal(self, datum: Mapping[str, Any]) -> list[Update]:
        """Count the appeal in its category's customer time; note each repeat contact of the
        appeal and re-send its feed and at-risk items."""
        out = self._appeal_figures(datum)
        return out + self._repeats(datum)

    def _appeal_figures(self, datum: Mapping[str, Any]) -> list[Update]:
        tenant, ids = datum["tenant"], datum["contact_ids"]
        touched = set()
        # an appeal that absorbed another (a contact linked two): the other is no more
        for cid in ids[1:]:
            gone = self.appeals.pop((tenant, cid), None)
            if gone is not None:
                touched.add(self._add_to_group(gone, -1))
        old = self.appeals.pop((tenant, datum["appeal_id"]), None)
        if old is not None:
            touched.add(self._add_to_group(old, -1))
        key = "|".join((tenant, datum["region"], datum["channel"], datum["customer_category"]))
        if key not in self.appeal_groups:
            self.appeal_groups[key] = {
                "key": key, "tenant": tenant, "region": datum["region"],
                "channel": datum["channel"], "customer_category": datum["customer_category"],
                "appeals": 0, "contacts": 0, "wait_ms": 0, "fcr": 0}  # fmt: skip
        latest = max(datum.get("contact_received_at") or [datum["started_at"]])
        new = (key, latest, len(ids) or 1, datum["wait_ms"],
               int(datum["first_contact_resolution"]))
        self.appeals[(tenant, datum["appeal_id"])] = new
        touched.add(self._add_to_group(new, 1))
        while len(self.appeals) > MAX_REMEMBERED:
            touched.add(self._add_to_group(self.appeals.popitem(last=False)[1], -1))
        return [self._group_update(k) for k in sorted(touched)]

    def _add_to_group(self, part: tuple[str, int, int, int, int], sign: int) -> str:
        group = self.appeal_groups[part[0]]
        group["appeals"] += sign
        group["contacts"] += sign * part[2]
        group["wait_ms"] += sign * part[3]
        group["fcr"] += sign * part[4]
        return part[0]

    def _group_update(self, key: str) -> Update:
        g = self.appeal_groups[key]
        return Update("appeal_group", dict(g), g["tenant"], g["region"], g["channel"])

    def _prune_appeals(self, now: int) -> None:
        old = [k for k, part in self.appeals.items() if part[1] < now - self.appeal_keep_ms]
        for k in old:
            self._add_to_group(self.appeals.pop(k), -1)

    def _repeats(self, datum: Mapping[str, Any]) -> list[Update]:
        ids, received = datum["contact_ids"], datum.get("contact_received_at") or []
        changed: set[str] = set()
        for nth, cid in enumerate(ids[1:], start=2):
            within = received[nth - 1] - datum["started_at"] if len(received) == len(ids) \
                else None
            note = {"nth": nth, "within_ms": within, "appeal_id": datum["appeal_id"],
                    "resolved": datum["resolved"]}
            if self.repeats.get(cid) != note:
                self.repeats[cid] = note
                self.repeats.move_to_end(cid)
                changed.add(cid)
        while len(self.repeats) > MAX_REMEMBERED:
            self.repeats.popitem(last=False)
        if not changed:
            return []
        out: list[Update] = []
        for alert in self.feed.values():
            if alert["contact_id"] in changed:
                alert["repeat"] = self.repeats[alert["contact_id"]]
                out.append(Update("alert", alert, alert["tenant"], alert["region"],
                                  alert["channel"]))
        for risk in self.risks.values():
            if risk["contact_id"] in changed:
                risk["repeat"] = self.repeats[risk["contact_id"]]
                out.append(Update("risk", risk, risk["tenant"], risk["region"], risk["channel"]))
        return out

    def _remember(self, alert_id: str, where: tuple[str, str, str]) -> None:
        """Bounded memory: the oldest alerts are forgotten first (they left the board)."""
        self.alerts_seen[alert_id] = where
        self.alerts_seen.move_to_end(alert_id)
        while len(self.alerts_seen) > MAX_REMEMBERED:
            self.alerts_seen.popitem(last=False)

    # --- reading -----------------------------------------------------------------------------
    def prune(self, now: int) -> None:
        """Forget clocks overdue for long (a data gap) and storms long past."""
        self.risks = {k: r for k, r in self.risks.items() if r["due_at"] >= now - self.risk_keep_ms}
        self.storms = {k: s for k, s in self.storms.items()
                       if s["window_end"] >= now - self.storm_keep_ms}
        self._prune_appeals(now)

    def snapshot(self, scope: Scope, now: int) -> dict[str, Any]:
        """Everything a freshly connected page needs, filtered by ``scope``."""
        self.prune(now)

        def ok(r: Mapping[str, Any]) -> bool:
            return scope.admits(r.get("tenant") or None, r.get("region"), r.get("channel"))

        rows = [self.metrics.row(g) for g in self.metrics.groups()]
        return {
            "now": now,
            "groups": [r for r in rows if ok(r)],
            "feed": [a for a in reversed(self.feed.values()) if ok(a)],
            "risks": sorted((r for r in self.risks.values() if ok(r)), key=lambda r: r["due_at"]),
            "appeal_groups": [dict(g) for g in self.appeal_groups.values()
                              if g["appeals"] > 0 and ok(g)],
            "storms": [s for s in self.storms.values() if scope.admits_update(
                Update("storm", s, s["tenant"], s["region"], "phone", region_wide=True))],
        }

    def where(self, alert_id: str) -> tuple[str, str, str] | None:
        """(tenant, region, channel) of an alert this board has seen; '' tenant for a v1
        storm."""
        return self.alerts_seen.get(alert_id)


_HANDLERS = {
    METRICS: LiveBoard._metrics,
    SLA_ALERT: LiveBoard._sla_alert,
    OUTCOME: LiveBoard._outcome,
    STORM: LiveBoard._storm,
    ACKNOWLEDGED: lambda board, d: board._ack(d, follow_up=False),
    FOLLOW_UP: lambda board, d: board._ack(d, follow_up=True),
    RETRACTED: LiveBoard._retract,
    APPEAL: LiveBoard._appeal,
}
