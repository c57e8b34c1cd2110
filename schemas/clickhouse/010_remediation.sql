-- Corrective actions against complaint root causes: one row per RemediationRecorded step
-- (planned / completed / verified), as the sink maps it. A redelivered step has the same
-- sorting key (ending in remediation_id) and collapses with itself; readers count steps
-- with LIMIT 1 BY remediation_id until a merge. The root cause of each complaint is not here:
-- it rides on the complaint's own events as attributes['root_cause'] (events table).
CREATE TABLE IF NOT EXISTS remediation
(
    remediation_id String,
    tenant         LowCardinality(String),
    action_id      String,
    step           LowCardinality(String),
    root_cause     LowCardinality(String),
    region         LowCardinality(String),
    owner          Nullable(String),
    due_at         Nullable(DateTime64(3, 'UTC')),
    complaint_ids  Array(String),
    recorded_by    String,
    at             DateTime64(3, 'UTC'),
    note           Nullable(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, action_id, remediation_id);
