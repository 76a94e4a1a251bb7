#include "exporter/collectors/ab_sql.h"

#include "exporter/counting/new_rows.h"

namespace outcomes::ab_sql {
namespace {

// The full-window statement, the definition of the A/B values (it was the collector's only
// statement before the aggregates were kept incrementally), up to the per-customer sums
// ("customers"); {select} is the rest of the final SELECT, which makes it either the full
// window (one row per (test, variant)) or the baseline. Only the two variants of each test.
// Only PURCHASED and RETURNED events change a value (a recommendation without them gets no
// outcomes row, as one with only other events had), so only they are read, by the partial
// index of deploy/sql/schema.sql.
constexpr const char* kWholeTestsSql = R"SQL(
WITH tests AS (
  SELECT {ab_tests.test_id} AS test_id, {ab_tests.variant_a} AS variant_a,
         {ab_tests.variant_b} AS variant_b, {share}::float8 AS traffic_share_b FROM {ab_tests}
  WHERE ({ab_tests.status} = {ab_test_status:RUNNING} OR {ab_tests.ends_at} IS NULL
         OR {ab_tests.ends_at} >= now() - $1::interval){only}
), recs AS (
  SELECT r.{recommendations.id} AS id, r.{recommendations.ab_test_id} AS ab_test_id,
         r.{recommendations.variant} AS variant, r.{recommendations.customer_id} AS customer_id
  FROM {recommendations} r JOIN tests t ON t.test_id = r.{recommendations.ab_test_id}
  WHERE r.{recommendations.variant} IN (t.variant_a, t.variant_b)
), outcomes AS (
  SELECT e.{outcome_events.recommendation_id} AS recommendation_id,
         bool_or(e.{outcome_events.status} = {status:PURCHASED}) AS purchased,
         bool_or(e.{outcome_events.status} = {status:RETURNED}) AS returned,
         coalesce(sum(e.{outcome_events.revenue}) FILTER (WHERE e.{outcome_events.status} = {status:PURCHASED}), 0)
           - coalesce(sum(e.{outcome_events.revenue}) FILTER (WHERE e.{outcome_events.status} = {status:RETURNED}), 0) AS revenue
  FROM {outcome_events} e JOIN recs ON recs.id = e.{outcome_events.recommendation_id}
  WHERE e.{outcome_events.status} IN ({status:PURCHASED}, {status:RETURNED})
  GROUP BY 1
), satisfaction AS (
  SELECT f.{feedback.recommendation_id} AS recommendation_id, sum(f.{feedback.score}) AS score_sum,
         count(*) AS score_count
  FROM {feedback} f JOIN recs ON recs.id = f.{feedback.recommendation_id}
  WHERE f.{feedback.feedback_type} = {feedback_type:SATISFACTION}
  GROUP BY 1
), customers AS (
  SELECT recs.ab_test_id, recs.variant, recs.customer_id,
         count(*) AS recommendations,
         count(*) FILTER (WHERE o.purchased) AS purchases,
         count(*) FILTER (WHERE o.returned) AS returns,
         bool_or(coalesce(o.purchased, false)) AS converted,
         coalesce(sum(o.revenue), 0) AS revenue,
         coalesce(sum(s.score_sum), 0) AS score_sum,
         coalesce(sum(s.score_count), 0) AS score_count,
         max(recs.id) AS last_id
  FROM recs
  LEFT JOIN outcomes o ON o.recommendation_id = recs.id
  LEFT JOIN satisfaction s ON s.recommendation_id = recs.id
  GROUP BY 1, 2, 3
)
SELECT c.ab_test_id, c.variant, t.variant_a, t.variant_b, t.traffic_share_b,
       count(*), sum(c.recommendations), count(*) FILTER (WHERE c.converted),
       sum(c.purchases), sum(c.returns), {revenue},
       sum(c.score_sum), sum(c.score_count), {squares}{select}
)SQL";

constexpr const char* kArmsGrouping = R"SQL(
FROM customers c JOIN tests t ON t.test_id = c.ab_test_id
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2)SQL";

// The arms' rows, then one row per customer with the same sums over that customer alone, its
// id and its highest recommendation id, the most recently active first: one read of the tests
// gives both the sums and the customers' state. GROUPING() tells the rows apart.
constexpr const char* kBaselineGrouping = R"SQL(,
       c.customer_id, max(c.last_id), GROUPING(c.customer_id)
FROM customers c JOIN tests t ON t.test_id = c.ab_test_id
GROUP BY GROUPING SETS (
  (c.ab_test_id, c.variant, t.variant_a, t.variant_b, t.traffic_share_b),
  (c.ab_test_id, c.variant, t.variant_a, t.variant_b, t.traffic_share_b, c.customer_id))
ORDER BY GROUPING(c.customer_id) DESC, max(c.last_id) DESC
LIMIT {limit}::bigint)SQL";

// One row per recommendation touched by the rows past the watermarks: what its new events and
// feedback add, found by primary key, and its test, variant and customer by primary key.
// Whether it was purchased or returned before is looked up (outcome_events by
// recommendation_id) only for a recommendation counted before that has new PURCHASED or
// RETURNED events: the cost follows the new rows, not a customer's history. "Counted" is what
// the last cycles counted: ids at or below the old watermarks that were not just found in a
// gap or by the sweep, nor left in a range still missing ($13/$14 for recommendations, $15/$16
// for events: sorted firsts and lasts, looked up by binary search with width_bucket, so a
// committed row the sweep has not reached yet is not taken for a counted one). The OFFSET 0
// subqueries keep the planner from joining whole tables on rough estimates of the new rows.
constexpr const char* kDeltaSql = R"SQL(
WITH tests AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(test_id, variant_a, variant_b)
), changes AS (
  SELECT id, bool_or(status = {status:PURCHASED}) AS purchased,
         bool_or(status = {status:RETURNED}) AS returned,
         sum(CASE WHEN status = {status:PURCHASED} THEN revenue
                  WHEN status = {status:RETURNED} THEN -revenue ELSE 0 END) AS revenue,
         sum(score) AS score_sum, count(score) AS score_count
  FROM (
    SELECT id, NULL AS status, 0 AS revenue, NULL::int AS score
    FROM (SELECT {recommendations.id} AS id FROM {recommendations}
          WHERE {recommendations.id} > $4::bigint AND {recommendations.id} <= $5::bigint
          OFFSET 0) r
    UNION ALL
    SELECT {recommendations.id}, NULL, 0, NULL FROM {recommendations}
    WHERE {recommendations.id} = ANY($6::bigint[])
    UNION ALL
    SELECT recommendation_id, status, revenue, NULL
    FROM (SELECT {outcome_events.recommendation_id} AS recommendation_id,
                 {outcome_events.status} AS status, {outcome_events.revenue} AS revenue
          FROM {outcome_events}
          WHERE {outcome_events.id} > $7::bigint AND {outcome_events.id} <= $8::bigint
            AND {outcome_events.status} IN ({status:PURCHASED}, {status:RETURNED})
          OFFSET 0) e
    UNION ALL
    SELECT {outcome_events.recommendation_id}, {outcome_events.status}, {outcome_events.revenue},
           NULL
    FROM {outcome_events}
    WHERE {outcome_events.id} = ANY($9::bigint[])
      AND {outcome_events.status} IN ({status:PURCHASED}, {status:RETURNED})
    UNION ALL
    SELECT recommendation_id, NULL, 0, score
    FROM (SELECT {feedback.recommendation_id} AS recommendation_id, {feedback.score} AS score
          FROM {feedback}
          WHERE {feedback.id} > $10::bigint AND {feedback.id} <= $11::bigint
            AND {feedback.feedback_type} = {feedback_type:SATISFACTION}
          OFFSET 0) f
    UNION ALL
    SELECT {feedback.recommendation_id}, NULL, 0, {feedback.score} FROM {feedback}
    WHERE {feedback.id} = ANY($12::bigint[])
      AND {feedback.feedback_type} = {feedback_type:SATISFACTION}
  ) n
  GROUP BY 1
)
SELECT r.ab_test_id, r.variant, r.customer_id, r.counted,
       coalesce(c.purchased, false), coalesce(c.returned, false),
       (c.revenue * 100)::bigint,
       coalesce(b.purchased, false), coalesce(b.returned, false),
       coalesce(c.score_sum, 0), c.score_count, r.id
FROM changes c
CROSS JOIN LATERAL (
  SELECT {recommendations.id} AS id, {recommendations.ab_test_id} AS ab_test_id,
         {recommendations.variant} AS variant, {recommendations.customer_id} AS customer_id,
         {recommendations.id} <= $4::bigint AND {recommendations.id} <> ALL($6::bigint[])
           AND NOT {recommendation_missing} AS counted
  FROM {recommendations} WHERE {recommendations.id} = c.id OFFSET 0) r
JOIN tests t ON t.test_id = r.ab_test_id AND r.variant IN (t.variant_a, t.variant_b)
LEFT JOIN LATERAL (
  SELECT bool_or({outcome_events.status} = {status:PURCHASED}) AS purchased,
         bool_or({outcome_events.status} = {status:RETURNED}) AS returned
  FROM {outcome_events}
  WHERE {outcome_events.recommendation_id} = r.id AND r.counted AND (c.purchased OR c.returned)
    AND {outcome_events.status} IN ({status:PURCHASED}, {status:RETURNED})
    AND {outcome_events.id} <= $7::bigint AND {outcome_events.id} <> ALL($9::bigint[])
    AND NOT {event_missing}
) b ON true
)SQL";

// A customer's counted history, for a customer the in-memory state does not hold (evicted past
// the cap): its recommendations in the test by the (ab_test_id, customer_id, id) index, their
// events by recommendation_id. Only the counted rows, as the state would hold them ($8..$11:
// the ranges still missing, as in the delta).
constexpr const char* kHistorySql = R"SQL(
SELECT k.ab_test_id, k.variant, k.customer_id, count(r.id),
       coalesce(bool_or(o.purchased), false),
       (coalesce(sum(o.revenue), 0) * 100)::bigint
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(ab_test_id, variant, customer_id)
LEFT JOIN LATERAL (
  SELECT {recommendations.id} AS id FROM {recommendations}
  WHERE {recommendations.ab_test_id} = k.ab_test_id
    AND {recommendations.customer_id} = k.customer_id AND {recommendations.variant} = k.variant
    AND {recommendations.id} <= $4::bigint AND {recommendations.id} <> ALL($5::bigint[])
    AND NOT {recommendation_missing}
  OFFSET 0) r ON true
LEFT JOIN LATERAL (
  SELECT bool_or({outcome_events.status} = {status:PURCHASED}) AS purchased,
         sum(CASE WHEN {outcome_events.status} = {status:PURCHASED} THEN {outcome_events.revenue}
                  ELSE -{outcome_events.revenue} END) AS revenue
  FROM {outcome_events}
  WHERE {outcome_events.recommendation_id} = r.id
    AND {outcome_events.status} IN ({status:PURCHASED}, {status:RETURNED})
    AND {outcome_events.id} <= $6::bigint AND {outcome_events.id} <> ALL($7::bigint[])
    AND NOT {event_missing}) o ON true
GROUP BY 1, 2, 3
)SQL";

std::string Replace(std::string text, const std::string& placeholder, const std::string& value) {
  text.replace(text.find(placeholder), placeholder.size(), value);
  return text;
}

std::string WholeTests(bool has_split_column, bool exact, bool only, const std::string& select) {
  std::string sql =
      Replace(kWholeTestsSql, "{share}", has_split_column ? "{ab_tests.traffic_share_b}" : "NULL");
  sql = Replace(sql, "{only}", only ? " AND {ab_tests.test_id} = ANY($2::text[])" : "");
  sql = Replace(sql, "{revenue}",
                exact ? "(sum(c.revenue) * 100)::numeric(40, 0)" : "sum(c.revenue)::float8");
  sql = Replace(sql, "{squares}",
                exact ? "(sum(c.revenue * c.revenue) * 10000)::numeric(40, 0)"
                      : "sum(c.revenue * c.revenue)::float8");
  return Replace(sql, "{select}", select);
}

}  // namespace

std::string Tests(bool has_split_column, const SchemaSql& sql) {
  return sql.Render(
      std::string("SELECT {ab_tests.test_id}, {ab_tests.variant_a}, {ab_tests.variant_b}, ") +
      (has_split_column ? "{ab_tests.traffic_share_b}" : "NULL") +
      "::float8 FROM {ab_tests} "
      "WHERE {ab_tests.status} = {ab_test_status:RUNNING} OR {ab_tests.ends_at} IS NULL "
      "OR {ab_tests.ends_at} >= now() - $1::interval ORDER BY 1");
}

std::string FullWindow(bool has_split_column, const SchemaSql& schema) {
  return schema.Render(
      WholeTests(has_split_column, /*exact=*/false, /*only=*/false, kArmsGrouping));
}

std::string Baseline(bool has_split_column, bool only, const SchemaSql& schema) {
  return schema.Render(WholeTests(has_split_column, /*exact=*/true, only,
                                  Replace(kBaselineGrouping, "{limit}", only ? "$3" : "$2")));
}

namespace {

std::string WithMissingRanges(std::string sql, int first_param) {
  sql =
      Replace(sql, "{recommendation_missing}", InRangesFilter("{recommendations.id}", first_param));
  return Replace(sql, "{event_missing}", InRangesFilter("{outcome_events.id}", first_param + 2));
}

}  // namespace

std::string Delta(const SchemaSql& sql) { return sql.Render(WithMissingRanges(kDeltaSql, 13)); }
std::string History(const SchemaSql& sql) { return sql.Render(WithMissingRanges(kHistorySql, 8)); }

}  // namespace outcomes::ab_sql
