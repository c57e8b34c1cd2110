-- Daily twin of outcome_stats_hourly (same states, same duplicate-safety argument), bucketed
-- by the local calendar day of the clock's start. Kept as its own view rather than rolled up
-- from the hourly table so that each stays a plain insert trigger on `outcomes`.
CREATE TABLE IF NOT EXISTS outcome_stats_daily
(
    tenant            LowCardinality(String),
    channel           LowCardinality(String),
    region            LowCardinality(String),
    customer_category LowCardinality(String),
    milestone         LowCardinality(String),
    local_day         Date,
    met               AggregateFunction(maxMap, Array(UInt64), Array(UInt64)),
    breached          AggregateFunction(maxMap, Array(UInt64), Array(UInt64)),
    cancelled         AggregateFunction(maxMap, Array(UInt64), Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(local_day)
ORDER BY (tenant, channel, region, customer_category, milestone, local_day);

CREATE MATERIALIZED VIEW IF NOT EXISTS outcome_stats_daily_mv TO outcome_stats_daily AS
SELECT
    tenant,
    channel,
    region,
    customer_category,
    milestone,
    toDate(started_local) AS local_day,
    maxMapStateIf([cityHash64(contact_id)], [toUInt64(greatest(elapsed_ms, 0))], status = 'met')
        AS met,
    maxMapStateIf(
        [cityHash64(contact_id)], [toUInt64(greatest(elapsed_ms, 0))], status = 'breached'
    ) AS breached,
    maxMapStateIf(
        [cityHash64(contact_id)], [toUInt64(greatest(elapsed_ms, 0))], status = 'cancelled'
    ) AS cancelled
FROM outcomes
WHERE status IN ('met', 'breached', 'cancelled')
GROUP BY tenant, channel, region, customer_category, milestone, local_day;
