-- Reference outcomes store for outcomes_exporter.
--
-- This is the contract the project ships: the demo, the tests and the default exporter
-- configuration read exactly these tables, columns, types, defaults and CHECK constraints.
-- Users with their own schema adapt through the exporter's configuration instead of
-- changing this file. Extend it (new tables, new indexes); do not rename or retype.
--
-- Idempotent: safe to apply again on a store that already has the tables (nothing is
-- dropped or altered). Objects are created in the first schema of the search_path
-- (normally "public"), so a dedicated schema can be chosen with
--   PGOPTIONS='-c search_path=outcomes' psql "$DSN" -f deploy/sql/schema.sql
--
-- Apply with: psql "$DSN" -v ON_ERROR_STOP=1 -f deploy/sql/schema.sql

BEGIN;

-- Quiet the "already exists, skipping" notices when applied again.
SET LOCAL client_min_messages = warning;

-- One row per recommendation served by the model. ab_test_id/variant are NULL when the
-- recommendation was not part of an A/B test (the exporter exports them as "").
CREATE TABLE IF NOT EXISTS recommendations (
    id            bigserial PRIMARY KEY,
    customer_id   text NOT NULL,
    product_id    text NOT NULL,
    model_version text NOT NULL,
    ab_test_id    text NULL,
    variant       text NULL,
    score         double precision NOT NULL,
    price         numeric(12,2) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Append-only life of a recommendation: PENDING, then ACCEPTED or REJECTED, then
-- PURCHASED or NOT_PURCHASED, maybe RETURNED. Rows are never updated or deleted, which
-- is what lets the exporter count incrementally by id and stay exact.
-- revenue is the price paid for PURCHASED and the amount refunded for RETURNED, 0 otherwise.
CREATE TABLE IF NOT EXISTS outcome_events (
    id                bigserial PRIMARY KEY,
    recommendation_id bigint NOT NULL REFERENCES recommendations(id),
    status            text NOT NULL CHECK (status IN ('PENDING','ACCEPTED','REJECTED','PURCHASED',
                                                      'NOT_PURCHASED','RETURNED')),
    reason            text NULL CHECK (reason IN ('PRICE_TOO_HIGH','NOT_INTERESTED','QUALITY_CONCERN',
                                                  'COMPETITOR_CHOICE','ALREADY_OWNS','QUALITY_ISSUE',
                                                  'NOT_AS_DESCRIBED','BETTER_ALTERNATIVE',
                                                  'SATISFIED','EXCELLENT')),
    revenue           numeric(12,2) NOT NULL DEFAULT 0,
    occurred_at       timestamptz NOT NULL DEFAULT now()
);

-- Explicit customer feedback (stars). Sentiment: positive >= 4, neutral = 3, negative < 3.
CREATE TABLE IF NOT EXISTS feedback (
    id                bigserial PRIMARY KEY,
    recommendation_id bigint NOT NULL REFERENCES recommendations(id),
    feedback_type     text NOT NULL CHECK (feedback_type IN ('SATISFACTION','QUALITY','RELEVANCE',
                                                             'PRICE','DELIVERY','CUSTOM')),
    score             smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment           text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- A/B tests: recommendations.ab_test_id references test_id by convention (no foreign key
-- in the contract, so the serving side can log a test before it is registered here).
CREATE TABLE IF NOT EXISTS ab_tests (
    test_id    text PRIMARY KEY,
    variant_a  text NOT NULL,
    variant_b  text NOT NULL,
    started_at timestamptz NOT NULL,
    ends_at    timestamptz,
    status     text NOT NULL DEFAULT 'RUNNING',
    -- Intended share of customers assigned to variant_b (0.1 for a 90/10 canary); NULL means
    -- 50/50. The sample-ratio-mismatch check tests the realised split against it. Optional:
    -- the exporter reads it only where the column exists.
    traffic_share_b double precision
        CHECK (traffic_share_b > 0 AND traffic_share_b < 1)
);
-- Stores created before the column existed get it here (the statement is idempotent).
ALTER TABLE ab_tests ADD COLUMN IF NOT EXISTS traffic_share_b double precision
    CHECK (traffic_share_b > 0 AND traffic_share_b < 1);

-- Indexes. The primary keys already serve the exporter's incremental reads
-- ("rows with id > last seen id"), so every index below is about joins and time windows.
-- Each costs a little on every insert; keep the list short. The two recommendation_id indexes
-- are the large ones: they cover the start-up count (see below and docs/OPERATIONS.md).

-- Joining an event back to its recommendation (labels model_version, ab_test, variant)
-- and walking one recommendation's life. PostgreSQL does not index foreign keys itself.
-- The included columns are what the store collector's first count reads of each event: it
-- joins the recommendations and their events in recommendation_id order from this index
-- alone (an index-only merge join), which at 10M events takes about half the database time of
-- hashing every recommendation, at the price of a larger index (about 0.85x the table
-- instead of 0.25x). An older narrow index of this name is not replaced by IF NOT EXISTS:
-- docs/OPERATIONS.md ("Missing indexes") swaps it without blocking writers.
CREATE INDEX IF NOT EXISTS outcome_events_recommendation_id_idx
    ON outcome_events (recommendation_id) INCLUDE (status, reason, revenue, occurred_at);

-- Same join for feedback (label model_version), covering for the same reason.
CREATE INDEX IF NOT EXISTS feedback_recommendation_id_idx
    ON feedback (recommendation_id) INCLUDE (feedback_type, score);

-- Per-model time windows: baselines, drift of the score distribution, new data since
-- a model version was trained.
CREATE INDEX IF NOT EXISTS recommendations_model_version_created_at_idx
    ON recommendations (model_version, created_at);

-- Time windows over all models (A/B test periods, recent activity).
CREATE INDEX IF NOT EXISTS recommendations_created_at_idx
    ON recommendations (created_at);

-- Data freshness (outcomes_store_last_event_timestamp_seconds = max(occurred_at)) in
-- O(log n) instead of a scan, plus event time windows.
CREATE INDEX IF NOT EXISTS outcome_events_occurred_at_idx
    ON outcome_events (occurred_at);

-- A/B tests (ab_tests collector): a customer the collector does not hold in memory (past
-- analytics.ab_tests.max_tracked_customers) is read back when it returns, "this customer's
-- recommendations in this test", by this index, then its events by the recommendation_id
-- index above (see docs/EXACTNESS.md).
CREATE INDEX IF NOT EXISTS recommendations_ab_test_id_customer_id_idx
    ON recommendations (ab_test_id, customer_id, id);

-- The cohorts collector's start-up read (cohorts_baseline): the decisive events (all but
-- PENDING) of each recommendation in recommendation_id order from the index alone (an
-- index-only scan). About 2x faster than through outcome_events_recommendation_id_idx at 10M
-- events; partial, so it holds about 60% of the events.
CREATE INDEX IF NOT EXISTS outcome_events_decided_idx
    ON outcome_events (recommendation_id, status) WHERE status <> 'PENDING';

-- A/B tests, first count (ab_tests collector start-up): only purchases and returns count, so
-- the per-recommendation outcomes of a whole test come from this small index alone instead of
-- every event (at 10M events about a seventh of them, read without the table).
CREATE INDEX IF NOT EXISTS outcome_events_ab_purchases_idx
    ON outcome_events (recommendation_id) INCLUDE (status, revenue)
    WHERE status IN ('PURCHASED', 'RETURNED');

COMMIT;
