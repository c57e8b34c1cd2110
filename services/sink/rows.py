"""Kafka record -> warehouse rows: one small pure function per record type.

The record name in the Avro single-object header decides the table, not the topic, so a topic
carrying several record types (alerts: SlaAlertRaised, SlaAlertRetracted and
OutageStormSuspected) needs nothing special. Column lists follow schemas/clickhouse/*.sql;
columns with a DEFAULT or MATERIALIZED expression computed by ClickHouse (timezone,
occurred_local, ingested_at) are not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

import orjson

from schemas.codec import DecodeError, decode
from services.sink.batch import Row
from streams.sla.versions import POLICY_RECORD, scope_key, versions_of_record

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "contact_id", "tenant", "region", "channel", "type", "occurred_at", "kind",
    "customer_category", "office", "agent", "queue", "topic", "customer_ref", "related_to",
    "attributes",
)
OUTCOME_COLUMNS: tuple[str, ...] = (
    "outcome_id", "tenant", "contact_id", "milestone", "status", "started_at", "due_at",
    "stopped_at", "elapsed_ms", "target_ms", "warnings_crossed", "evaluated_at", "region",
    "channel", "contact_kind", "customer_category", "office", "policy_version", "policy",
)
ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id", "alert", "tenant", "region", "channel", "contact_kind", "customer_category",
    "office", "contact_id", "milestone", "status", "threshold", "started_at", "due_at",
    "stopped_at", "elapsed_ms", "target_ms", "at", "payload",
)
METRIC_COLUMNS: tuple[str, ...] = (
    "snapshot_id", "partition", "tenant", "channel", "region", "office", "window",
    "window_start", "window_end", "taken_at", "offered", "answered", "abandoned",
    "short_abandoned", "answered_within_target", "wait_sum_ms", "longest_wait_ms",
    "waiting_now", "breaches",
)

REMEDIATION_COLUMNS: tuple[str, ...] = (
    "remediation_id", "tenant", "action_id", "step", "root_cause", "region", "owner", "due_at",
    "complaint_ids", "recorded_by", "at", "note",
)

#: schemas/clickhouse/008_appeal_links.sql (the same rows `kontakt appeals link` writes)
APPEAL_LINK_COLUMNS: tuple[str, ...] = (
    "tenant", "contact_id", "appeal_id", "appeal_started_at", "window_ms", "linked_at",
)

#: schemas/clickhouse/014_policy_versions.sql: one row per (tenant, version, scope)
POLICY_VERSION_COLUMNS: tuple[str, ...] = (
    "tenant", "policy_version", "scope", "region", "queue", "effective_from", "published_at",
    "published_by", "comment", "policy", "document", "milestones", "target_ms",
)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": EVENT_COLUMNS,
    "outcomes": OUTCOME_COLUMNS,
    "alerts": ALERT_COLUMNS,
    "metrics": METRIC_COLUMNS,
    "remediation": REMEDIATION_COLUMNS,
    "appeal_links": APPEAL_LINK_COLUMNS,
    "policy_versions": POLICY_VERSION_COLUMNS,
}

TableRows = list[tuple[str, Row]]
_event_row = itemgetter(*EVENT_COLUMNS)
_outcome_row = itemgetter(*OUTCOME_COLUMNS)


def event_rows(datum: Mapping[str, Any]) -> TableRows:
    return [("events", _event_row(datum))]


def outcome_rows(datum: Mapping[str, Any]) -> TableRows:
    return [("outcomes", _outcome_row(datum))]


def sla_alert_rows(datum: Mapping[str, Any]) -> TableRows:
    d = datum
    row = (
        d["alert_id"], d["alert"], d["tenant"], d["region"], d["channel"], d["contact_kind"],
        d["customer_category"], d["office"], d["contact_id"], d["milestone"], d["status"],
        d["threshold"], d["started_at"], d["due_at"], d["stopped_at"], d["elapsed_ms"],
        d["target_ms"], d["raised_at"], orjson.dumps(dict(d)).decode(),
    )
    return [("alerts", row)]


def storm_alert_rows(datum: Mapping[str, Any]) -> TableRows:
    """An outage storm is per tenant and region, not per contact: those columns stay empty.
    A v1 record (written before storms were per tenant) is read as v2 with tenant ''."""
    d = datum
    row = (
        d["alert_id"], "outage_storm", d["tenant"], d["region"], "phone", "", "", None,
        "", "", "", d["threshold"], d["window_start"], None, None, None, None, d["raised_at"],
        orjson.dumps(dict(d)).decode(),
    )
    return [("alerts", row)]


def retraction_rows(datum: Mapping[str, Any]) -> TableRows:
    """A withdrawn breach (schemas/avro/SlaAlertRetracted): a row keyed by the breach's alert_id
    with alert = 'retracted', status = the clock's outcome now (met|cancelled), at = when the
    worker retracted it. A re-emitted retraction has the same key and collapses."""
    d = datum
    row = (
        d["alert_id"], "retracted", d["tenant"], d["region"], d["channel"], d["contact_kind"],
        d["customer_category"], d["office"], d["contact_id"], d["milestone"], d["status"], None,
        d["started_at"], d["due_at"], d["stopped_at"], d["elapsed_ms"], d["target_ms"],
        d["retracted_at"], orjson.dumps(dict(d)).decode(),
    )
    return [("alerts", row)]


def metric_rows(datum: Mapping[str, Any]) -> TableRows:
    d = datum
    asa = d["asa_ms"]
    row = (
        d["snapshot_id"], d["partition"], d["tenant"], d["channel"], d["region"],
        d["office"] or "", d["window"], d["window_start"], d["window_end"], d["taken_at"],
        d["offered"], d["answered"], d["abandoned"], d["short_abandoned"],
        d["answered_in_threshold"], 0 if asa is None else round(asa * d["answered"]),
        d["longest_wait_ms"], d["waiting"], d["breaches"],
    )
    return [("metrics", row)]


def _action_row(d: Mapping[str, Any], alert: str, at: int) -> TableRows:
    """A shift-lead action on an alert (schemas/avro/AlertAcknowledged, FollowUpMarked): a row
    of the alerts table keyed by the acted-on alert_id, `alert` naming the action."""
    row = (
        d["alert_id"], alert, d["tenant"], d["region"], d["channel"], "", "", None,
        d["contact_id"] or "", "", "", None, None, None, None, None, None, at,
        orjson.dumps(dict(d)).decode(),
    )
    return [("alerts", row)]


def acknowledgement_rows(datum: Mapping[str, Any]) -> TableRows:
    return _action_row(datum, "acknowledged", datum["acknowledged_at"])


def follow_up_rows(datum: Mapping[str, Any]) -> TableRows:
    """alert = 'called_back' or 'escalated' (the follow-up action)."""
    return _action_row(datum, datum["action"], datum["marked_at"])


def remediation_rows(datum: Mapping[str, Any]) -> TableRows:
    """A corrective-action step (schemas/avro/RemediationRecorded; docs/appeals.md)."""
    return [("remediation", _remediation_row(datum))]


_remediation_row = itemgetter(*REMEDIATION_COLUMNS)


def appeal_rows(datum: Mapping[str, Any]) -> TableRows:
    """An appeal as the worker linked it live (schemas/avro/AppealUpdated): one appeal_links
    row per contact; a later linked_at (a later update, or a rebuild) supersedes."""
    d = datum
    return [
        ("appeal_links", (d["tenant"], cid, d["appeal_id"], d["started_at"], d["window_ms"],
                          d["linked_at"]))
        for cid in d["contact_ids"] or [d["appeal_id"]]  # the first contact is the appeal's id
    ]  # fmt: skip

def policy_version_rows(datum: Mapping[str, Any]) -> TableRows:
    """A tenant's policy history (schemas/avro/PolicyVersionPublished): one policy_versions row
    per version and scope (the version's default, then each override), parsed by the core's own
    versions_of_record, so the rows say what the worker reads. Every record re-carries the whole
    history; the copies have the same key and content and collapse. A document the core cannot
    parse raises PolicyError (a ValueError): the record is undecodable, not half-stored."""
    rows: TableRows = []
    for v in versions_of_record(datum):
        scopes = [(None, None, v.default), *((o.region, o.queue, o.policy) for o in v.overrides)]
        for region, queue, policy in scopes:
            scope = scope_key(region, queue)
            rows.append(("policy_versions", (
                v.tenant, v.version, scope, region, queue, v.effective_from, v.published_at,
                v.published_by, v.comment, policy.name,
                orjson.dumps(v.documents[scope], option=orjson.OPT_SORT_KEYS).decode(),
                [m.id for m in policy.milestones], [m.target_ms for m in policy.milestones],
            )))
    return rows


MAPPERS: dict[str, Callable[[Mapping[str, Any]], TableRows]] = {
    "ContactEventRecorded": event_rows,
    "MilestoneOutcomeEvaluated": outcome_rows,
    "SlaAlertRaised": sla_alert_rows,
    "OutageStormSuspected": storm_alert_rows,
    "SlaAlertRetracted": retraction_rows,
    "MetricsSnapshotTaken": metric_rows,
    "AlertAcknowledged": acknowledgement_rows,
    "FollowUpMarked": follow_up_rows,
    "RemediationRecorded": remediation_rows,
    "AppealUpdated": appeal_rows,
    POLICY_RECORD: policy_version_rows,
}


def record_rows(value: bytes | None, kafka_timestamp: int = 0) -> TableRows:
    """Decode one Kafka value and map it; DecodeError for bytes no mapper can take."""
    if value is None:
        raise DecodeError("empty record value (tombstone)")
    name, datum = decode(value)
    mapper = MAPPERS.get(name)
    if mapper is None:
        raise DecodeError(f"no warehouse table for record {name}")
    try:
        return mapper(datum)
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"{name}: cannot map to a row: {exc!r}") from exc
