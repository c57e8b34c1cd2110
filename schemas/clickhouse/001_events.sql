-- Raw contact events: one row per schemas/events.py ContactEvent, as delivered by Kafka.
-- Redelivery is expected (at-least-once): ReplacingMergeTree collapses rows with the same
-- sorting key, which ends in event_id, so a redelivered event (same event_id, hence same
-- tenant/channel/region/occurred_at) is one row after merges. Until a merge, readers
-- deduplicate with FINAL (or count(DISTINCT event_id)); docs/analytics.md does so everywhere.
-- `timezone` defaults to the region's IANA zone; `kontakt migrate` regenerates that DEFAULT
-- from streams/sla/regions.py (the one place the mapping lives). `occurred_local` is the
-- local wall-clock time, stored in a UTC-typed column so toHour()/toDate() give local values.
-- The raw-event TTL is not set here: `kontakt migrate` applies KONTAKT_RAW_EVENT_TTL_DAYS.
CREATE TABLE IF NOT EXISTS events
(
    event_id          String,
    contact_id        String,
    tenant            LowCardinality(String),
    region            LowCardinality(String),
    channel           LowCardinality(String),
    type              LowCardinality(String),
    occurred_at       DateTime64(3, 'UTC'),
    kind              LowCardinality(String) DEFAULT 'inquiry',
    customer_category LowCardinality(String) DEFAULT 'standard',
    office            LowCardinality(Nullable(String)),
    agent             LowCardinality(Nullable(String)),
    queue             LowCardinality(Nullable(String)),
    topic             LowCardinality(Nullable(String)),
    customer_ref      Nullable(String),
    related_to        Nullable(String),
    attributes        Map(String, String),
    timezone          LowCardinality(String) DEFAULT 'Europe/Moscow',
    occurred_local    DateTime64(3, 'UTC')
        MATERIALIZED toDateTime64(toString(occurred_at, timezone), 3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant, channel, region, occurred_at, event_id);
