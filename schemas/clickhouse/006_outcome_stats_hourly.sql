-- Hourly SLA statistics by tenant x channel x region x customer_category x milestone, kept up
-- to date by a materialized view on `outcomes` (local hour of the clock's start).
--
-- Why maxMap states keyed by contact: a materialized view sees every inserted block, so a
-- redelivered or re-evaluated outcome reaches it again, and a plain count()/sum() would count
-- it twice (ReplacingMergeTree only collapses the source table, later). Each state here is a
-- map cityHash64(contact_id) -> elapsed_ms merged with max(), which is idempotent: the same
-- contact inserted twice is one key, and a longer re-evaluation of a still-running clock
-- replaces the shorter one. Counts are the number of keys, sums/means/quantiles are taken over
-- the values, so every figure stays exact under duplicates. Only terminal statuses are fed
-- (open rows change later). insert_deduplication_token would only catch a retried identical
-- block, not the same record re-batched after a Kafka rebalance, so it is not relied on.
--
-- Figures (see docs/analytics.md): met/breached/cancelled = length(keys); service level =
-- met / (met + breached); mean elapsed = arraySum(values) / length; quantiles via
-- arrayReduce('quantilesExact(...)', values).
CREATE TABLE IF NOT EXISTS outcome_stats_hourly
(
    tenant            LowCardinality(String),
    channel           LowCardinality(String),
    region            LowCardinality(String),
    customer_category LowCardinality(String),
    milestone         LowCardinality(String),
    local_hour        DateTime('UTC'),
    met               AggregateFunction(maxMap, Array(UInt64), Array(UInt64)),
    breached          AggregateFunction(maxMap, Array(UInt64), Array(UInt64)),
    cancelled         AggregateFunction(maxMap, Array(UInt64), Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(local_hour)
ORDER BY (tenant, channel, region, customer_category, milestone, local_hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS outcome_stats_hourly_mv TO outcome_stats_hourly AS
SELECT
    tenant,
    channel,
    region,
    customer_category,
    milestone,
    toStartOfHour(toDateTime(started_local, 'UTC')) AS local_hour,
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
GROUP BY tenant, channel, region, customer_category, milestone, local_hour;
