#include "exporter/collectors/ab_aggregates.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "exporter/counting/incremental.h"

namespace outcomes {
namespace {

// The full-window statement, the definition of the A/B values (it was the collector's only
// statement before the aggregates were kept incrementally). One row per (test, variant) with
// the per-customer sums; only the two variants of each test.
constexpr const char* kFullWindowSql = R"SQL(
WITH tests AS (
  SELECT test_id, variant_a, variant_b, {share}::float8 AS traffic_share_b FROM ab_tests
  WHERE (status = 'RUNNING' OR ends_at IS NULL OR ends_at >= now() - $1::interval){only}
), recs AS (
  SELECT r.id, r.ab_test_id, r.variant, r.customer_id
  FROM recommendations r JOIN tests t ON t.test_id = r.ab_test_id
  WHERE r.variant IN (t.variant_a, t.variant_b)
), outcomes AS (
  SELECT e.recommendation_id,
         bool_or(e.status = 'PURCHASED') AS purchased,
         bool_or(e.status = 'RETURNED') AS returned,
         coalesce(sum(e.revenue) FILTER (WHERE e.status = 'PURCHASED'), 0)
           - coalesce(sum(e.revenue) FILTER (WHERE e.status = 'RETURNED'), 0) AS revenue
  FROM outcome_events e JOIN recs ON recs.id = e.recommendation_id
  GROUP BY e.recommendation_id
), satisfaction AS (
  SELECT f.recommendation_id, sum(f.score) AS score_sum, count(*) AS score_count
  FROM feedback f JOIN recs ON recs.id = f.recommendation_id
  WHERE f.feedback_type = 'SATISFACTION'
  GROUP BY f.recommendation_id
), customers AS (
  SELECT recs.ab_test_id, recs.variant, recs.customer_id,
         count(*) AS recommendations,
         count(*) FILTER (WHERE o.purchased) AS purchases,
         count(*) FILTER (WHERE o.returned) AS returns,
         bool_or(coalesce(o.purchased, false)) AS converted,
         coalesce(sum(o.revenue), 0) AS revenue,
         coalesce(sum(s.score_sum), 0) AS score_sum,
         coalesce(sum(s.score_count), 0) AS score_count
  FROM recs
  LEFT JOIN outcomes o ON o.recommendation_id = recs.id
  LEFT JOIN satisfaction s ON s.recommendation_id = recs.id
  GROUP BY 1, 2, 3
)
SELECT c.ab_test_id, c.variant, t.variant_a, t.variant_b, t.traffic_share_b,
       count(*), sum(c.recommendations), count(*) FILTER (WHERE c.converted),
       sum(c.purchases), sum(c.returns), {revenue},
       sum(c.score_sum), sum(c.score_count), {squares}
FROM customers c JOIN tests t ON t.test_id = c.ab_test_id
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2
)SQL";

// Per touched customer, its sums as counted before this cycle (rows at or below the old
// watermarks that were not just found in a gap) and as the snapshot holds them now; the
// difference per (test, variant). Every read goes through a primary key or an index on the
// customer's rows, so the cost follows the new rows and the touched customers' history. The
// OFFSET 0 subqueries keep the planner from joining whole tests: estimates of the new rows are
// rough, and a hash join over a test's recommendations would read the test once per cycle.
constexpr const char* kDeltaSql = R"SQL(
WITH tests AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(test_id, variant_a, variant_b)
), new_recommendations AS (
  SELECT r.ab_test_id, r.customer_id
  FROM (SELECT ab_test_id, customer_id FROM recommendations
        WHERE id > $4::bigint AND id <= $5::bigint OFFSET 0) r
  UNION ALL
  SELECT r.ab_test_id, r.customer_id
  FROM (SELECT ab_test_id, customer_id FROM recommendations
        WHERE id = ANY($6::bigint[]) OFFSET 0) r
), new_events AS (
  SELECT recommendation_id FROM outcome_events WHERE id > $7::bigint AND id <= $8::bigint
  UNION ALL
  SELECT recommendation_id FROM outcome_events WHERE id = ANY($9::bigint[])
  UNION ALL
  SELECT recommendation_id FROM feedback
  WHERE id > $10::bigint AND id <= $11::bigint AND feedback_type = 'SATISFACTION'
  UNION ALL
  SELECT recommendation_id FROM feedback
  WHERE id = ANY($12::bigint[]) AND feedback_type = 'SATISFACTION'
), touched AS (
  SELECT ab_test_id, customer_id FROM new_recommendations WHERE ab_test_id = ANY($1::text[])
  UNION
  SELECT r.ab_test_id, r.customer_id
  FROM new_events n
  CROSS JOIN LATERAL (SELECT ab_test_id, customer_id FROM recommendations
                      WHERE id = n.recommendation_id OFFSET 0) r
  WHERE r.ab_test_id = ANY($1::text[])
), per_recommendation AS (
  SELECT k.ab_test_id, r.variant, k.customer_id, r.counted, o.*, s.*
  FROM touched k
  JOIN tests t ON t.test_id = k.ab_test_id
  CROSS JOIN LATERAL (
    SELECT id, variant, id <= $4::bigint AND id <> ALL($6::bigint[]) AS counted
    FROM recommendations
    WHERE ab_test_id = k.ab_test_id AND customer_id = k.customer_id
      AND variant IN (t.variant_a, t.variant_b)
    OFFSET 0) r
  CROSS JOIN LATERAL (
    SELECT bool_or(status = 'PURCHASED') AS purchased,
           bool_or(status = 'RETURNED') AS returned,
           coalesce(sum(revenue) FILTER (WHERE status = 'PURCHASED'), 0)
             - coalesce(sum(revenue) FILTER (WHERE status = 'RETURNED'), 0) AS revenue,
           coalesce(bool_or(status = 'PURCHASED') FILTER (WHERE counted), false)
             AS purchased_before,
           coalesce(bool_or(status = 'RETURNED') FILTER (WHERE counted), false) AS returned_before,
           coalesce(sum(revenue) FILTER (WHERE status = 'PURCHASED' AND counted), 0)
             - coalesce(sum(revenue) FILTER (WHERE status = 'RETURNED' AND counted), 0)
             AS revenue_before
    FROM (SELECT status, revenue, id <= $7::bigint AND id <> ALL($9::bigint[]) AS counted
          FROM outcome_events
          WHERE recommendation_id = r.id AND status IN ('PURCHASED', 'RETURNED')) e) o
  CROSS JOIN LATERAL (
    SELECT sum(score) AS score_sum, count(*) AS score_count,
           sum(score) FILTER (WHERE counted) AS score_sum_before,
           count(*) FILTER (WHERE counted) AS score_count_before
    FROM (SELECT score, id <= $10::bigint AND id <> ALL($12::bigint[]) AS counted
          FROM feedback WHERE recommendation_id = r.id AND feedback_type = 'SATISFACTION') f) s
), customers AS (
  SELECT ab_test_id, variant, customer_id,
         count(*) AS recommendations,
         count(*) FILTER (WHERE purchased) AS purchases,
         count(*) FILTER (WHERE returned) AS returns,
         bool_or(coalesce(purchased, false)) AS converted,
         coalesce(sum(revenue), 0) AS revenue,
         coalesce(sum(score_sum), 0) AS score_sum,
         coalesce(sum(score_count), 0) AS score_count,
         count(*) FILTER (WHERE counted) AS recommendations_before,
         count(*) FILTER (WHERE counted AND purchased_before) AS purchases_before,
         count(*) FILTER (WHERE counted AND returned_before) AS returns_before,
         coalesce(bool_or(purchased_before) FILTER (WHERE counted), false) AS converted_before,
         coalesce(sum(revenue_before) FILTER (WHERE counted), 0) AS revenue_before,
         coalesce(sum(score_sum_before) FILTER (WHERE counted), 0) AS score_sum_before,
         coalesce(sum(score_count_before) FILTER (WHERE counted), 0) AS score_count_before
  FROM per_recommendation
  GROUP BY 1, 2, 3
)
SELECT ab_test_id, variant,
       count(*) - count(*) FILTER (WHERE recommendations_before > 0),
       sum(recommendations - recommendations_before),
       count(*) FILTER (WHERE converted) - count(*) FILTER (WHERE converted_before),
       sum(purchases - purchases_before),
       sum(returns - returns_before),
       (sum(revenue - revenue_before) * 100)::numeric(40, 0),
       sum(score_sum - score_sum_before),
       sum(score_count - score_count_before),
       (sum(revenue * revenue - revenue_before * revenue_before) * 10000)::numeric(40, 0)
FROM customers
GROUP BY 1, 2
)SQL";

// Delta rows and exact full-window rows share the order of their sums.
constexpr std::size_t kDeltaColumns = 11;
constexpr std::size_t kFullWindowColumns = 14;

// The tables the aggregates read, for the watermark statements of incremental.h.
const std::vector<TableSpec>& WatermarkTables() {
  static const std::vector<TableSpec> kTables = {
      {"recommendations", "r.id", "", 0, {Merge::kSum}},
      {"outcome_events", "e.id", "", 0, {Merge::kSum}},
      {"feedback", "f.id", "", 0, {Merge::kSum}},
  };
  return kTables;
}

std::string Replace(std::string text, const std::string& placeholder, const std::string& value) {
  text.replace(text.find(placeholder), placeholder.size(), value);
  return text;
}

Result<ExactSum> ParseExact(const std::optional<std::string>& text, const std::string& what) {
  if (!text) return ExactSum{0};
  const std::string& s = *text;
  std::size_t at = s.empty() || s[0] != '-' ? 0 : 1;
  if (at == s.size()) return Status::Error(what + ": expected an integer, got \"" + s + "\"");
  ExactSum value = 0;
  for (; at < s.size(); ++at) {
    if (s[at] < '0' || s[at] > '9') {
      return Status::Error(what + ": expected an integer, got \"" + s + "\"");
    }
    value = value * 10 + (s[at] - '0');
  }
  return s[0] == '-' ? -value : value;
}

Result<std::int64_t> ParseCount(const std::optional<std::string>& text, const std::string& what) {
  Result<ExactSum> value = ParseExact(text, what);
  if (!value.ok()) return value.status();
  return static_cast<std::int64_t>(value.value());
}

// Sums from `row`, starting at column `first`: customers, recommendations, converted,
// purchases, returns, revenue, score sum, score count, squares.
Result<AbSums> ParseSums(const Row& row, std::size_t first, const std::string& what) {
  AbSums sums;
  std::int64_t* counts[] = {&sums.customers, &sums.recommendations, &sums.converted_customers,
                            &sums.purchases, &sums.returns};
  for (std::size_t i = 0; i < 5; ++i) {
    Result<std::int64_t> value = ParseCount(row[first + i], what);
    if (!value.ok()) return value.status();
    *counts[i] = value.value();
  }
  Result<ExactSum> revenue = ParseExact(row[first + 5], what);
  Result<std::int64_t> score_sum = ParseCount(row[first + 6], what);
  Result<std::int64_t> score_count = ParseCount(row[first + 7], what);
  Result<ExactSum> squares = ParseExact(row[first + 8], what);
  for (const Status& status :
       {revenue.status(), score_sum.status(), score_count.status(), squares.status()}) {
    if (!status.ok()) return status;
  }
  sums.revenue_cents = revenue.value();
  sums.satisfaction_sum = score_sum.value();
  sums.satisfaction_count = score_count.value();
  sums.revenue_squares_cents = squares.value();
  return sums;
}

// Postgres array literals; text elements quoted, with " and \ escaped.
std::string IdArray(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i > 0 ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += i > 0 ? ",\"" : "\"";
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

Result<std::int64_t> ReadMaxId(SnapshotReader& reader, const TableSpec& spec) {
  Result<std::vector<Row>> top =
      reader.Query("ab_tests_" + spec.table + "_max_id", store_sql::MaxId(spec), {});
  if (!top.ok()) return top.status();
  return ParseCount(top.value().at(0).at(0), spec.table);
}

Result<std::vector<IdRange>> ReadGaps(SnapshotReader& reader, const TableSpec& spec,
                                      std::int64_t from, std::int64_t to) {
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_" + spec.table + "_gaps", store_sql::Gaps(spec),
                   {std::to_string(from), std::to_string(to)});
  if (!rows.ok()) return rows.status();
  std::vector<IdRange> gaps;
  for (const Row& row : rows.value()) {
    Result<std::int64_t> first = ParseCount(row.at(0), spec.table);
    Result<std::int64_t> last = ParseCount(row.at(1), spec.table);
    if (!first.ok()) return first.status();
    if (!last.ok()) return last.status();
    gaps.push_back({first.value(), last.value()});
  }
  return gaps;
}

// The ids of the ledger's gaps that the snapshot holds now.
Result<std::vector<std::int64_t>> ReadLateIds(SnapshotReader& reader, const TableSpec& spec,
                                              const CounterLedger& ledger) {
  std::vector<std::int64_t> firsts;
  std::vector<std::int64_t> lasts;
  for (const IdRange& gap : ledger.gaps()) {
    firsts.push_back(gap.first);
    lasts.push_back(gap.last);
  }
  if (firsts.empty()) return std::vector<std::int64_t>{};
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_" + spec.table + "_late_ids", store_sql::LateIds(spec),
                   {IdArray(firsts), IdArray(lasts)});
  if (!rows.ok()) return rows.status();
  std::vector<std::int64_t> ids;
  for (const Row& row : rows.value()) {
    Result<std::int64_t> id = ParseCount(row.at(0), spec.table);
    if (!id.ok()) return id.status();
    ids.push_back(id.value());
  }
  return ids;
}

// The exact full-window sums per test of `tests` (zero for a test without customers).
Result<std::map<std::string, AbTestSums>> ReadFullWindow(SnapshotReader& reader,
                                                         const std::vector<AbTestDefinition>& tests,
                                                         bool has_split_column,
                                                         const std::string& retention, bool only) {
  std::map<std::string, AbTestSums> sums;
  std::vector<std::string> names;
  for (const AbTestDefinition& test : tests) {
    sums[test.test] = AbTestSums{test.variant_a, test.variant_b, {}, {}};
    names.push_back(test.test);
  }
  std::vector<std::string> params = {retention};
  if (only) params.push_back(TextArray(names));
  Result<std::vector<Row>> rows = reader.Query(
      "ab_tests_arms", ab_sql::FullWindow(has_split_column, /*exact=*/true, only), params);
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    if (row.size() != kFullWindowColumns) {
      return Status::Error("ab_tests_arms: unexpected column count");
    }
    const auto test = sums.find(row[0].value_or(""));
    // A test listed now but not by the earlier read of ab_tests cannot happen in one snapshot;
    // skipped rather than trusted half-way.
    if (test == sums.end() || row[2].value_or("") != test->second.variant_a ||
        row[3].value_or("") != test->second.variant_b) {
      continue;
    }
    Result<AbSums> arm = ParseSums(row, 5, "ab_tests_arms");
    if (!arm.ok()) return arm.status();
    (row[1].value_or("") == test->second.variant_a ? test->second.a : test->second.b) = arm.value();
  }
  return sums;
}

AbSums Difference(const AbSums& to, const AbSums& from) {
  AbSums d;
  d.customers = to.customers - from.customers;
  d.recommendations = to.recommendations - from.recommendations;
  d.converted_customers = to.converted_customers - from.converted_customers;
  d.purchases = to.purchases - from.purchases;
  d.returns = to.returns - from.returns;
  d.revenue_cents = to.revenue_cents - from.revenue_cents;
  d.revenue_squares_cents = to.revenue_squares_cents - from.revenue_squares_cents;
  d.satisfaction_sum = to.satisfaction_sum - from.satisfaction_sum;
  d.satisfaction_count = to.satisfaction_count - from.satisfaction_count;
  return d;
}

double ScaledToDouble(ExactSum value, const char* exponent) {
  // strtod rounds the decimal correctly, as PostgreSQL's numeric -> float8 cast does.
  const std::string text = ExactSumText(value) + exponent;
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

namespace ab_sql {

std::string Tests(bool has_split_column) {
  return std::string("SELECT test_id, variant_a, variant_b, ") +
         (has_split_column ? "traffic_share_b" : "NULL") +
         "::float8 FROM ab_tests "
         "WHERE status = 'RUNNING' OR ends_at IS NULL OR ends_at >= now() - $1::interval "
         "ORDER BY 1";
}

std::string FullWindow(bool has_split_column, bool exact, bool only) {
  std::string sql =
      Replace(kFullWindowSql, "{share}", has_split_column ? "traffic_share_b" : "NULL");
  sql = Replace(sql, "{only}", only ? " AND test_id = ANY($2::text[])" : "");
  sql = Replace(sql, "{revenue}",
                exact ? "(sum(c.revenue) * 100)::numeric(40, 0)" : "sum(c.revenue)::float8");
  return Replace(sql, "{squares}",
                 exact ? "(sum(c.revenue * c.revenue) * 10000)::numeric(40, 0)"
                       : "sum(c.revenue * c.revenue)::float8");
}

std::string Delta() { return kDeltaSql; }

}  // namespace ab_sql

AbSums& AbSums::operator+=(const AbSums& other) {
  customers += other.customers;
  recommendations += other.recommendations;
  converted_customers += other.converted_customers;
  purchases += other.purchases;
  returns += other.returns;
  revenue_cents += other.revenue_cents;
  revenue_squares_cents += other.revenue_squares_cents;
  satisfaction_sum += other.satisfaction_sum;
  satisfaction_count += other.satisfaction_count;
  return *this;
}

std::string ExactSumText(ExactSum value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  std::string digits;
  for (; value != 0; value /= 10) {
    const int digit = static_cast<int>(value % 10);
    digits += static_cast<char>('0' + (negative ? -digit : digit));
  }
  if (negative) digits += '-';
  std::reverse(digits.begin(), digits.end());
  return digits;
}

double CentsToUnits(ExactSum cents) { return ScaledToDouble(cents, "e-2"); }
double SquareCentsToUnits(ExactSum square_cents) { return ScaledToDouble(square_cents, "e-4"); }

AbAggregates::AbAggregates() {
  for (const TableSpec& spec : WatermarkTables()) ledgers_.emplace_back(spec.merges);
}

Status AbAggregates::Initialize(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                                bool has_split_column, const std::string& retention,
                                SteadyTime now) {
  ledgers_.clear();
  for (const TableSpec& spec : WatermarkTables()) {
    Result<std::int64_t> top = ReadMaxId(reader, spec);
    if (!top.ok()) return top.status();
    Result<std::vector<IdRange>> gaps = ReadGaps(
        reader, spec, std::max<std::int64_t>(0, top.value() - kInitialGapScan), top.value());
    if (!gaps.ok()) return gaps.status();
    ledgers_.emplace_back(spec.merges);
    ledgers_.back().ApplyFullCount({}, now, top.value(), gaps.value());
  }
  Result<std::map<std::string, AbTestSums>> sums =
      ReadFullWindow(reader, tests, has_split_column, retention, /*only=*/false);
  if (!sums.ok()) return sums.status();
  tests_ = std::move(sums).value();
  initialized_ = true;
  return Status::Ok();
}

Status AbAggregates::ApplyDelta(SnapshotReader& reader, const std::vector<std::int64_t>& tops,
                                SteadyTime now) {
  const std::vector<TableSpec>& specs = WatermarkTables();
  std::vector<IncrementBatch> batches(specs.size());
  std::vector<std::string> params(12);
  bool anything_new = false;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    IncrementBatch& batch = batches[i];
    batch.new_watermark = tops[i];
    Result<std::vector<std::int64_t>> found = ReadLateIds(reader, specs[i], ledgers_[i]);
    if (!found.ok()) return found.status();
    batch.found_ids = std::move(found).value();
    if (batch.new_watermark > ledgers_[i].watermark()) {
      Result<std::vector<IdRange>> gaps =
          ReadGaps(reader, specs[i], ledgers_[i].watermark(), batch.new_watermark);
      if (!gaps.ok()) return gaps.status();
      batch.new_gaps = std::move(gaps).value();
    }
    anything_new =
        anything_new || !batch.found_ids.empty() || batch.new_watermark > ledgers_[i].watermark();
    params[3 + 3 * i] = std::to_string(ledgers_[i].watermark());
    params[4 + 3 * i] = std::to_string(batch.new_watermark);
    params[5 + 3 * i] = IdArray(batch.found_ids);
  }
  std::vector<std::string> names;
  std::vector<std::string> variants_a;
  std::vector<std::string> variants_b;
  for (const auto& [test, sums] : tests_) {
    names.push_back(test);
    variants_a.push_back(sums.variant_a);
    variants_b.push_back(sums.variant_b);
  }
  params[0] = TextArray(names);
  params[1] = TextArray(variants_a);
  params[2] = TextArray(variants_b);
  if (anything_new && !names.empty()) {
    Result<std::vector<Row>> rows = reader.Query("ab_tests_delta", ab_sql::Delta(), params);
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) {
      if (row.size() != kDeltaColumns) return Status::Error("ab_tests_delta: unexpected columns");
      const auto test = tests_.find(row[0].value_or(""));
      if (test == tests_.end()) continue;
      Result<AbSums> delta = ParseSums(row, 2, "ab_tests_delta");
      if (!delta.ok()) return delta.status();
      (row[1].value_or("") == test->second.variant_a ? test->second.a : test->second.b) +=
          delta.value();
    }
  }
  for (std::size_t i = 0; i < specs.size(); ++i) ledgers_[i].ApplyIncrement(batches[i], now);
  return Status::Ok();
}

Result<AbAdvance> AbAggregates::Advance(SnapshotReader& reader,
                                        const std::vector<AbTestDefinition>& tests,
                                        bool has_split_column, bool reconcile,
                                        const std::string& retention, SteadyTime now) {
  AbAggregates next = *this;
  AbAdvance report;
  bool& counted_from_scratch = report.counted_from_scratch;
  counted_from_scratch = !next.initialized_;
  std::vector<std::int64_t> tops;
  if (next.initialized_) {
    // A table below its watermark (an older backup restored, newest rows deleted) holds ids
    // that are no longer the ones counted: everything is counted again from this snapshot.
    for (std::size_t i = 0; i < next.ledgers_.size(); ++i) {
      Result<std::int64_t> top = ReadMaxId(reader, WatermarkTables()[i]);
      if (!top.ok()) return top.status();
      if (top.value() < next.ledgers_[i].watermark()) counted_from_scratch = true;
      tops.push_back(top.value());
    }
  }
  if (counted_from_scratch) {
    Status status = next.Initialize(reader, tests, has_split_column, retention, now);
    if (!status.ok()) return status;
    *this = std::move(next);
    return report;
  }
  // Tests that left the list, or whose variants changed, are dropped; the rest advance.
  std::set<std::string> listed;
  std::vector<AbTestDefinition> added;
  for (const AbTestDefinition& test : tests) {
    listed.insert(test.test);
    const auto known = next.tests_.find(test.test);
    if (known != next.tests_.end() && known->second.variant_a == test.variant_a &&
        known->second.variant_b == test.variant_b) {
      continue;
    }
    if (known != next.tests_.end()) next.tests_.erase(known);
    added.push_back(test);
  }
  std::erase_if(next.tests_, [&](const auto& entry) { return !listed.contains(entry.first); });
  Status status = next.ApplyDelta(reader, tops, now);
  if (!status.ok()) return status;
  // A test new to the list (registered after its first recommendations) is counted whole.
  if (!added.empty()) {
    Result<std::map<std::string, AbTestSums>> sums =
        ReadFullWindow(reader, added, has_split_column, retention, /*only=*/true);
    if (!sums.ok()) return sums.status();
    for (const auto& [test, test_sums] : sums.value()) next.tests_[test] = test_sums;
  }
  if (reconcile) {
    Result<std::map<std::string, AbTestSums>> store =
        ReadFullWindow(reader, tests, has_split_column, retention, /*only=*/false);
    if (!store.ok()) return store.status();
    for (const auto& [test, sums] : store.value()) {
      const AbTestSums& counted = next.tests_[test];
      if (counted.a != sums.a) {
        report.corrections.push_back({test, sums.variant_a, counted.a, sums.a});
      }
      if (counted.b != sums.b) {
        report.corrections.push_back({test, sums.variant_b, counted.b, sums.b});
      }
    }
    next.tests_ = std::move(store).value();
  }
  *this = std::move(next);
  return report;
}

void AbAggregates::ExpireGaps(SteadyTime now, Duration window) {
  for (CounterLedger& ledger : ledgers_) {
    ledger.ExpireGaps(now, window);
    ledger.LimitGaps(kMaxGapRanges);
  }
}

void LogCorrections(Logger& log, const std::string& collector,
                    const std::vector<AbCorrection>& corrections) {
  for (const AbCorrection& correction : corrections) {
    const AbSums d = Difference(correction.store, correction.counted);
    log.Info("A/B reconciliation corrected the incremental aggregates (store minus counted)",
             {{"collector", collector},
              {"ab_test", correction.test},
              {"variant", correction.variant},
              {"customers", std::to_string(d.customers)},
              {"converted_customers", std::to_string(d.converted_customers)},
              {"recommendations", std::to_string(d.recommendations)},
              {"purchases", std::to_string(d.purchases)},
              {"returns", std::to_string(d.returns)},
              {"revenue_cents", ExactSumText(d.revenue_cents)},
              {"revenue_squares_cents", ExactSumText(d.revenue_squares_cents)},
              {"satisfaction_count", std::to_string(d.satisfaction_count)}});
  }
}

}  // namespace outcomes
