// The statements of the A/B aggregates (AbAggregates), one named function each, exposed so
// that tests can check their plans and use the full-window statement as their oracle. Each is
// written in the store's names of `sql` (store.schema; default: the reference schema's
// recommendations, outcome_events, feedback and ab_tests). Pure functions.
#pragma once

#include <string>

#include "exporter/store/schema_sql.h"

namespace outcomes::ab_sql {

// The tests to read: $1 the ended retention as an interval; `has_split_column` whether
// ab_tests has traffic_share_b.
std::string Tests(bool has_split_column, const SchemaSql& sql = SchemaSql());

// The full-window aggregate per (test, variant), the definition of every A/B value: revenue
// and squares as float8, as the historical statement had them. The tests' oracle and the
// benchmark's reference; the collector reads it only through Baseline(). $1 the ended
// retention.
std::string FullWindow(bool has_split_column, const SchemaSql& schema = SchemaSql());

// The recommendations the rows past the watermarks touch (new recommendations, new
// PURCHASED/RETURNED events, new SATISFACTION feedback), one row each: test, variant,
// customer, whether it was counted before, whether the new events purchase or return it,
// the revenue they add in cents, whether it was purchased or returned before, and the new
// satisfaction sum and count. $1..$3 the tracked
// tests, variant_a and variant_b as text[]; then per table (recommendations, outcome_events,
// feedback) the old watermark, the new one and the late ids found, as $4..$12; then the ranges
// of ids still missing below the old watermarks (the gaps and the sweep's ranges, sorted) of
// recommendations and outcome_events as firsts and lasts bigint[], $13..$16. Last column:
// the recommendation's id.
std::string Delta(const SchemaSql& sql = SchemaSql());

// What was counted before this cycle of the customers in $1..$3 (test, variant, customer as
// text[]), through the (ab_test_id, customer_id, id) index: counted recommendations, converted,
// revenue in cents. $4/$5 the recommendations' old watermark and late ids found, $6/$7 the
// events'; $8..$11 the missing ranges as in the delta. Asked only for customers the in-memory state
// does not hold.
std::string History(const SchemaSql& sql = SchemaSql());

// The count of whole tests from scratch, in one read: FullWindow's exact rows (GROUPING 1),
// then one row per customer with the same columns over that customer alone (customers 1,
// converted customers 0 or 1, revenue in cents...) and then customer, highest recommendation
// id and GROUPING 0, the most recently active customers first. Three more columns on the arms'
// rows: NULL, their highest recommendation id, 1. $1 the ended retention; with `only`, $2 a
// text[] of the tests to read; last, the most rows to return (every arm's and as many
// customers as wanted).
std::string Baseline(bool has_split_column, bool only = false,
                     const SchemaSql& schema = SchemaSql());

}  // namespace outcomes::ab_sql
