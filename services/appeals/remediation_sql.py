"""SQL of the remediation reports (docs/appeals.md shows the same queries for analysts).

Each query mirrors a function of streams/sla/remediation.py, and the tests compare the two on
seeded data: root causes by region and local month, open actions past due, recurrences.
Bounded like every analytics query: a tenant, a period of at most query_max_days (the
overdue report reads actions planned in the last ``query_max_days``), a LIMIT and
max_execution_time. Nullable columns are wrapped in a tuple inside argMax so a NULL of the
latest plan wins over an older non-NULL (argMax skips NULL arguments otherwise).
"""

from __future__ import annotations

DT = "DateTime64(3, 'UTC')"
_CAUSE = "attributes['root_cause']"

#: one row per complaint whose first event is in [start, end): region, local start, cause
COMPLAINTS = f"""
SELECT contact_id,
       argMin(region, (occurred_at, event_id)) AS region,
       min(occurred_at) AS received_at,
       min(occurred_local) AS received_local,
       if(countIf({_CAUSE} != '') = 0, 'unclassified',
          argMaxIf({_CAUSE}, (occurred_at, event_id), {_CAUSE} != '')) AS root_cause
FROM events
WHERE tenant = {{tenant:String}} AND occurred_at >= {{start:{DT}}}
  AND occurred_at < {{end:{DT}}} + INTERVAL 92 DAY
GROUP BY contact_id
HAVING countIf(kind = 'complaint') > 0 AND received_at < {{end:{DT}}}
"""

#: one row per corrective action of the tenant, folded as streams/sla/remediation.fold_actions
ACTIONS = f"""
SELECT action_id,
       argMaxIf(root_cause, (at, remediation_id), step = 'planned') AS root_cause,
       argMaxIf(region, (at, remediation_id), step = 'planned') AS region,
       argMaxIf(tuple(owner), (at, remediation_id), step = 'planned').1 AS owner,
       minIf(at, step = 'planned') AS planned_at,
       ifNull(argMaxIf(tuple(due_at), (at, remediation_id), step = 'planned').1,
              argMaxIf(at, (at, remediation_id), step = 'planned')
              + toIntervalMillisecond({{complete_ms:Int64}})) AS due_at,
       countIf(step = 'planned') > 0 AS planned,
       countIf(step = 'completed') > 0 AS completed,
       minIf(at, step = 'completed') AS completed_at,
       arraySort(groupUniqArrayArray(complaint_ids)) AS complaint_ids
FROM remediation
WHERE tenant = {{tenant:String}} AND at <= {{at:{DT}}}
  AND at >= {{at:{DT}}} - toIntervalDay({{max_days:UInt32}})
GROUP BY action_id
"""

ROOT_CAUSE_COLUMNS = ["region", "month", "root_cause", "complaints"]
ROOT_CAUSES = f"""
SELECT region, formatDateTime(received_local, '%Y-%m') AS month, root_cause,
       count() AS complaints
FROM ({COMPLAINTS}) WHERE received_at >= {{start:{DT}}}
GROUP BY region, month, root_cause
ORDER BY region, month, root_cause
"""

OVERDUE_COLUMNS = ["action_id", "root_cause", "region", "owner", "planned_at", "due_at",
                   "hours_overdue", "complaint_ids"]  # fmt: skip
OVERDUE = f"""
SELECT action_id, root_cause, region, owner, planned_at, due_at,
       dateDiff('hour', due_at, {{at:{DT}}}) AS hours_overdue, complaint_ids
FROM ({ACTIONS})
WHERE planned AND NOT completed AND due_at < {{at:{DT}}}
ORDER BY due_at, action_id
"""

RECURRENCE_COLUMNS = ["contact_id", "region", "root_cause", "received_at", "action_id",
                      "completed_at"]  # fmt: skip
RECURRENCES = f"""
SELECT c.contact_id, c.region, c.root_cause, c.received_at, a.action_id, a.completed_at
FROM ({COMPLAINTS}) AS c
INNER JOIN ({ACTIONS}) AS a ON c.region = a.region AND c.root_cause = a.root_cause
WHERE a.completed AND a.root_cause != '' AND c.received_at >= {{start:{DT}}}
  AND c.received_at > a.completed_at
ORDER BY c.received_at, c.contact_id, a.action_id
"""


def bounded(sql: str, limit: int, settings: str) -> str:
    """The query with its LIMIT (one extra row tells the caller it was truncated)."""
    return f"{sql.strip()}\nLIMIT {int(limit) + 1} {settings}"
