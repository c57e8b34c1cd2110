-- Every alert raised (SlaAlertRaised: warning|breached|met|cancelled; OutageStormSuspected:
-- outage_storm) and every acknowledgement (AlertAcknowledged: alert = 'acknowledged', with
-- the acknowledged alert's alert_id). alert_id is deterministic, so a re-emitted or
-- redelivered alert has the same (alert_id, alert) key and ReplacingMergeTree collapses it.
-- `payload` keeps the whole source record as JSON for what the columns do not carry.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id          String,
    alert             LowCardinality(String),
    tenant            LowCardinality(String),
    region            LowCardinality(String),
    channel           LowCardinality(String),
    contact_kind      LowCardinality(String) DEFAULT '',
    customer_category LowCardinality(String) DEFAULT '',
    office            LowCardinality(Nullable(String)),
    contact_id        String DEFAULT '',
    milestone         LowCardinality(String) DEFAULT '',
    status            LowCardinality(String) DEFAULT '',
    threshold         Nullable(Float64),
    started_at        Nullable(DateTime64(3, 'UTC')),
    due_at            Nullable(DateTime64(3, 'UTC')),
    stopped_at        Nullable(DateTime64(3, 'UTC')),
    elapsed_ms        Nullable(Int64),
    target_ms         Nullable(Int64),
    at                DateTime64(3, 'UTC'),
    payload           String DEFAULT '{}'
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, alert);
