-- Every tenant's published SLA policy versions (PolicyVersionPublished, topic `policies`), for
-- analysts to join with outcomes: one row per (tenant, policy_version, scope), where scope is
-- streams.sla.versions.scope_key -- 'default', 'region=77', 'queue=vip', 'region=77,queue=vip'
-- -- and region/queue are the scope's own (NULL where the scope does not name one).
-- `policy` is the name of that scope's policy, `document` its rules as JSON (presets resolved,
-- so a row means the same rules forever), and the parallel arrays `milestones`/`target_ms`
-- its standard target per milestone (a category's own target, when the policy has one, is in
-- `document`; outcomes.target_ms is always the exact target a clock was given).
--
-- Each record re-carries the tenant's whole history (the topic is compacted), so every version
-- arrives again with each new one: the same (tenant, policy_version, scope) key, the same
-- content. ReplacingMergeTree collapses the copies; read with FINAL, as policy_targets does.
CREATE TABLE IF NOT EXISTS policy_versions
(
    tenant         LowCardinality(String),
    policy_version UInt32,
    scope          String,
    region         Nullable(String),
    queue          Nullable(String),
    effective_from DateTime64(3, 'UTC'),
    published_at   DateTime64(3, 'UTC'),
    published_by   String,
    comment        String,
    policy         LowCardinality(String),
    document       String,
    milestones     Array(String),
    target_ms      Array(Int64)
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, policy_version, scope);

-- One row per (tenant, policy_version, scope, milestone): the target each version set. Which
-- target judged a contact's clock is a join with outcomes on
-- (tenant, policy_version, policy, milestone) -- docs/analytics.md has the query. Version 0,
-- the platform default, is not a published version and has no rows here.
CREATE VIEW IF NOT EXISTS policy_targets AS
SELECT
    tenant,
    policy_version,
    scope,
    region,
    queue,
    policy,
    effective_from,
    milestone,
    target_ms
FROM policy_versions FINAL
ARRAY JOIN milestones AS milestone, target_ms;
