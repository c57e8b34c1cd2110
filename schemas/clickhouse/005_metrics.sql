-- Live window snapshots (MetricsSnapshotTaken) per tenant x channel x region x office and
-- window kind (1m, 15m tumbling; today = the region's local day), one per worker partition.
-- A group's figure = the sum over `partition` of the newest snapshot per
-- (partition, group, window, window_start): ReplacingMergeTree(taken_at) keeps that newest
-- row; read with FINAL. office is '' when the group has no office (non in-person channels).
-- wait_sum_ms = answered x mean wait (the record's asa_ms), so ASA over several partitions is
-- sum(wait_sum_ms) / sum(answered).
CREATE TABLE IF NOT EXISTS metrics
(
    snapshot_id            String,
    partition              UInt16,
    tenant                 LowCardinality(String),
    channel                LowCardinality(String),
    region                 LowCardinality(String),
    office                 LowCardinality(String) DEFAULT '',
    window                 LowCardinality(String),
    window_start           DateTime64(3, 'UTC'),
    window_end             DateTime64(3, 'UTC'),
    taken_at               DateTime64(3, 'UTC'),
    offered                UInt32,
    answered               UInt32,
    abandoned              UInt32,
    short_abandoned        UInt32,
    answered_within_target UInt32,
    wait_sum_ms            UInt64,
    longest_wait_ms        UInt64,
    waiting_now            UInt32,
    breaches               UInt32
)
ENGINE = ReplacingMergeTree(taken_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (tenant, window, channel, region, office, window_start, partition);
