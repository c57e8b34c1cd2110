-- Which policy judged each clock (issue 14): MilestoneOutcomeEvaluated v2 carries the tenant's
-- policy version (0 = the platform default policy, KONTAKT_SLA_POLICY) and the policy's name.
-- Rows written before this migration, and v1 records, read 0 and ''.
--
-- The pre-aggregates over outcomes (006/007 outcome_stats_*, 011 sl_daily) are left as they
-- are, on purpose. A report grouped by policy version reads `outcomes FINAL` directly, as the
-- compliance report already does for every dimension those tables do not keep (office, kind):
-- the same exact figures, with no second copy of the data to keep right. Adding the column to
-- their sorting keys would mean new tables and views, rebuilt from history, for a grouping that
-- only compares periods under different rules -- not the minute-fresh headline they serve.
-- (A version is chosen per contact and never changes, so a contact's clocks never straddle two
-- groups; the maxMap states stay exact whatever the grouping.)
ALTER TABLE outcomes ADD COLUMN IF NOT EXISTS policy_version UInt32 DEFAULT 0;

ALTER TABLE outcomes ADD COLUMN IF NOT EXISTS policy LowCardinality(String) DEFAULT '';
