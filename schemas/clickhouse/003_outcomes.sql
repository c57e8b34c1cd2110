-- One row per (contact, milestone): the SLA outcome (MilestoneOutcomeEvaluated records).
-- Each re-evaluation is a new row; ReplacingMergeTree(evaluated_at) keeps the newest per
-- (tenant, contact_id, milestone), and a redelivered record collapses with itself.
-- No PARTITION BY on purpose: started_at may move when a clock restarts, and rows of one key
-- must share a partition to be replaced. Read with FINAL or argMax(..., evaluated_at).
CREATE TABLE IF NOT EXISTS outcomes
(
    outcome_id        String,
    tenant            LowCardinality(String),
    contact_id        String,
    milestone         LowCardinality(String),
    status            LowCardinality(String),
    started_at        DateTime64(3, 'UTC'),
    due_at            Nullable(DateTime64(3, 'UTC')),
    stopped_at        Nullable(DateTime64(3, 'UTC')),
    elapsed_ms        Int64,
    target_ms         Int64,
    warnings_crossed  Array(Float64),
    evaluated_at      DateTime64(3, 'UTC'),
    region            LowCardinality(String),
    channel           LowCardinality(String),
    contact_kind      LowCardinality(String),
    customer_category LowCardinality(String),
    office            LowCardinality(Nullable(String)),
    timezone          LowCardinality(String) DEFAULT 'Europe/Moscow',
    started_local     DateTime64(3, 'UTC')
        MATERIALIZED toDateTime64(toString(started_at, timezone), 3, 'UTC')
)
ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY (tenant, contact_id, milestone);
