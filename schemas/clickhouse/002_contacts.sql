-- Current state of each contact (one appeal on one channel), folded from its events by the
-- writer. Every change is a new row with a higher `version` (the writer uses the number of
-- events folded, or the last event's epoch ms); ReplacingMergeTree(version) keeps the newest
-- per (tenant, contact_id). Read with FINAL or argMax(..., version).
CREATE TABLE IF NOT EXISTS contacts
(
    tenant            LowCardinality(String),
    contact_id        String,
    region            LowCardinality(String),
    channel           LowCardinality(String),
    kind              LowCardinality(String),
    customer_category LowCardinality(String),
    office            LowCardinality(Nullable(String)),
    agent             LowCardinality(Nullable(String)),
    queue             LowCardinality(Nullable(String)),
    topic             LowCardinality(Nullable(String)),
    customer_ref      Nullable(String),
    related_to        Nullable(String),
    status            LowCardinality(String),
    received_at       DateTime64(3, 'UTC'),
    queued_at         Nullable(DateTime64(3, 'UTC')),
    answered_at       Nullable(DateTime64(3, 'UTC')),
    abandoned_at      Nullable(DateTime64(3, 'UTC')),
    registered_at     Nullable(DateTime64(3, 'UTC')),
    assigned_at       Nullable(DateTime64(3, 'UTC')),
    responded_at      Nullable(DateTime64(3, 'UTC')),
    resolved_at       Nullable(DateTime64(3, 'UTC')),
    closed_at         Nullable(DateTime64(3, 'UTC')),
    updated_at        DateTime64(3, 'UTC'),
    event_count       UInt32,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, contact_id);
