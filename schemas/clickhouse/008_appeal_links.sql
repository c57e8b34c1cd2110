-- Appeal links: which appeal (a customer's contacts about one matter) each contact belongs to.
-- Linking is union-find over related_to and (customer_ref, topic) within a window -- graph
-- work SQL cannot do in one pass -- so the pure core (streams/sla/appeals.py) computes it and
-- `kontakt appeals link` writes one row per contact here (a projection of the raw events,
-- rebuildable at any time). Everything the customer spent on a contact is NOT stored here: the
-- views of 009 compute it in SQL from the raw events, independently of the core.
-- Each rebuild writes new rows with a later linked_at; ReplacingMergeTree(linked_at) keeps
-- the newest per (tenant, contact_id); readers use argMax(..., linked_at) until a merge.
CREATE TABLE IF NOT EXISTS appeal_links
(
    tenant            LowCardinality(String),
    contact_id        String,
    appeal_id         String,
    appeal_started_at DateTime64(3, 'UTC'),
    window_ms         Int64,
    linked_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(linked_at)
ORDER BY (tenant, contact_id);
