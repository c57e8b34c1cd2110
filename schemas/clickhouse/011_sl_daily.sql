-- Service level per local day by tenant x channel x region x customer_category x milestone,
-- recomputed every minute from `outcomes FINAL` by a refreshable materialized view.
--
-- Why: the exact compliance figures need the newest revision of every clock with duplicates
-- gone, i.e. `outcomes FINAL`, which costs seconds at 10M events (bench/queries.py). The
-- headline question "SL by channel x region x day" reads this small table instead: the same
-- figures, at most a minute old.
--
-- Each refresh APPENDs one complete recomputation stamped `refreshed_at` (APPEND because the
-- embedded database engine does not support the atomic table swap of a plain refresh).
-- Readers take only the newest COMPLETE refresh:
--   WHERE refreshed_at = (SELECT max(refreshed_at) FROM sl_daily
--                         WHERE refreshed_at <= (SELECT max(last_success_time)
--                                                FROM system.view_refreshes
--                                                WHERE view = 'sl_daily_refresh'))
-- so there is nothing to deduplicate, a half-written refresh is never read, and a group that
-- disappeared from `outcomes` (backfill) disappears here too. Old refreshes expire by TTL.
CREATE TABLE IF NOT EXISTS sl_daily
(
    refreshed_at      DateTime('UTC'),
    tenant            LowCardinality(String),
    channel           LowCardinality(String),
    region            LowCardinality(String),
    customer_category LowCardinality(String),
    milestone         LowCardinality(String),
    local_day         Date,
    total             UInt64,
    met               UInt64,
    breached          UInt64,
    open              UInt64,
    cancelled         UInt64,
    decided_elapsed_ms UInt64
)
ENGINE = MergeTree
ORDER BY (tenant, refreshed_at, local_day, channel, region)
TTL refreshed_at + INTERVAL 1 HOUR;

CREATE MATERIALIZED VIEW IF NOT EXISTS sl_daily_refresh
REFRESH EVERY 1 MINUTE APPEND TO sl_daily AS
SELECT
    now() AS refreshed_at,
    tenant,
    channel,
    region,
    customer_category,
    milestone,
    toDate(started_local) AS local_day,
    count() AS total,
    countIf(status = 'met') AS met,
    countIf(status = 'breached') AS breached,
    countIf(status = 'open') AS open,
    countIf(status = 'cancelled') AS cancelled,
    toUInt64(sumIf(greatest(elapsed_ms, 0), status IN ('met', 'breached'))) AS decided_elapsed_ms
FROM outcomes FINAL
GROUP BY tenant, channel, region, customer_category, milestone, local_day;
