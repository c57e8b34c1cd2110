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
       countIf(step = 'verified') > 0 AS verified,
       minIf(at, step = 'verified') AS verified_at,
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


def _judge(start: str, has_start: str, stop: str, has_stop: str, target: str) -> str:
    """streams/sla/remediation.deadline_status's judge, in SQL (times DateTime64, ms ints)."""
    elapsed = f"toUnixTimestamp64Milli({stop}) - toUnixTimestamp64Milli({start})"
    waited = f"toUnixTimestamp64Milli({{at:{DT}}}) - toUnixTimestamp64Milli({start})"
    return (f"multiIf(NOT {has_start}, 'not_started', {has_stop}, "
            f"if({elapsed} <= {target}, 'met', 'breached'), "
            f"{waited} > {target}, 'breached', 'open')")  # fmt: skip


#: every action with its three deadlines judged at `at` (plan from the first complaint)
ACTION_STATUS_COLUMNS = ["action_id", "root_cause", "region", "owner", "first_complaint_at",
                         "planned_at", "due_at", "completed_at", "verified_at", "plan",
                         "complete", "verify"]  # fmt: skip
ACTION_STATUS = f"""
WITH actions AS
(
{ACTIONS}),
firsts AS
(
    SELECT l.action_id AS action_id, min(e.received_at) AS first_complaint_at,
           count() AS found
    FROM (SELECT action_id, arrayJoin(complaint_ids) AS contact_id FROM actions) AS l
    INNER JOIN
    (
        SELECT contact_id, min(occurred_at) AS received_at
        FROM events
        WHERE tenant = {{tenant:String}}
          AND occurred_at >= {{at:{DT}}} - toIntervalDay({{max_days:UInt32}} * 2)
          AND contact_id IN (SELECT arrayJoin(complaint_ids) FROM actions)
        GROUP BY contact_id
    ) AS e ON e.contact_id = l.contact_id
    GROUP BY l.action_id
)
SELECT a.action_id, a.root_cause, a.region, a.owner,
       if(f.found > 0, f.first_complaint_at, NULL) AS first_complaint_at,
       if(a.planned, a.planned_at, NULL) AS planned_at, if(a.planned, a.due_at, NULL) AS due_at,
       if(a.completed, a.completed_at, NULL) AS completed_at,
       if(a.verified, a.verified_at, NULL) AS verified_at,
       {_judge("f.first_complaint_at", "f.found > 0", "a.planned_at", "a.planned",
               "{plan_ms:Int64}")} AS plan,
       multiIf(NOT a.planned, 'not_started', a.completed,
               if(a.completed_at <= a.due_at, 'met', 'breached'),
               {{at:{DT}}} > a.due_at, 'breached', 'open') AS complete,
       {_judge("a.completed_at", "a.completed", "a.verified_at", "a.verified",
               "{verify_ms:Int64}")} AS verify
FROM actions AS a
LEFT JOIN firsts AS f ON f.action_id = a.action_id
ORDER BY a.action_id
"""
