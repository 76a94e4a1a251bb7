// What the store integration tests share: the one PostgreSQL of the test binary, the
// counters read back from the families, the same counters computed by independent SQL, and
// the writers' batch of rows.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/metrics/family.h"
#include "pg_sandbox.h"

namespace outcomes::testing_support {

using Samples = std::map<std::string, double>;  // "label=value,..." -> value

// Set up by the binary's test environment (store_collector_test.cc).
inline PgSandbox* sandbox = nullptr;

inline std::string Key(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string key;
  for (const auto& [name, value] : labels) key += name + "=" + value + ",";
  return key;
}

inline Samples SamplesOf(const std::vector<prometheus::MetricFamily>& families,
                         const std::string& name) {
  Samples samples;
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::vector<std::pair<std::string, std::string>> labels;
      for (const auto& label : metric.label) labels.emplace_back(label.name, label.value);
      samples[Key(labels)] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                            : metric.gauge.value;
    }
  }
  return samples;
}

// The expected values, computed by SQL written independently of the collector's.
inline Samples Expected(pqxx::connection& connection, const std::string& sql,
                        const std::vector<std::string>& label_names) {
  pqxx::nontransaction txn(connection);
  Samples samples;
  for (const auto& row : txn.exec(sql)) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      labels.emplace_back(label_names[i], row[static_cast<int>(i)].c_str());
    }
    samples[Key(labels)] = row[static_cast<int>(label_names.size())].as<double>();
  }
  return samples;
}

// Which rows of the store to count: SQL conditions on r.id, e.id and f.id.
struct RowFilter {
  std::string recommendations = "TRUE";
  std::string events = "TRUE";
  std::string feedback = "TRUE";
};

// The business counters as the store's GROUP BY gives them, by family name.
inline std::map<std::string, Samples> StoreCounters(const RowFilter& where = {}) {
  pqxx::connection connection(sandbox->dsn());
  std::map<std::string, Samples> counters;
  counters["outcomes_recommendations_total"] =
      Expected(connection,
               "SELECT model_version, coalesce(ab_test_id, ''), coalesce(variant, ''), "
               "count(*) FROM recommendations r WHERE " +
                   where.recommendations + " GROUP BY 1, 2, 3",
               {"model_version", "ab_test", "variant"});
  counters["outcomes_events_total"] =
      Expected(connection,
               "SELECT r.model_version, coalesce(r.ab_test_id, ''), coalesce(r.variant, ''), "
               "e.status, coalesce(e.reason, ''), count(*) FROM outcome_events e, "
               "recommendations r WHERE r.id = e.recommendation_id AND " +
                   where.events + " GROUP BY 1, 2, 3, 4, 5",
               {"model_version", "ab_test", "variant", "status", "reason"});
  counters["outcomes_revenue_total"] =
      Expected(connection,
               "SELECT r.model_version, coalesce(r.ab_test_id, ''), coalesce(r.variant, ''), "
               "e.status, sum(e.revenue)::float8 FROM outcome_events e, recommendations r "
               "WHERE r.id = e.recommendation_id AND e.status IN ('PURCHASED', 'RETURNED') AND " +
                   where.events + " GROUP BY 1, 2, 3, 4",
               {"model_version", "ab_test", "variant", "status"});
  counters["outcomes_feedback_total"] =
      Expected(connection,
               "SELECT r.model_version, f.feedback_type, CASE WHEN f.score < 3 THEN "
               "'negative' WHEN f.score > 3 THEN 'positive' ELSE 'neutral' END, count(*) "
               "FROM feedback f, recommendations r WHERE r.id = f.recommendation_id AND " +
                   where.feedback + " GROUP BY 1, 2, 3",
               {"model_version", "type", "sentiment"});
  counters["outcomes_feedback_score_total"] =
      Expected(connection,
               "SELECT r.model_version, f.feedback_type, sum(f.score) FROM feedback f, "
               "recommendations r WHERE r.id = f.recommendation_id AND " +
                   where.feedback + " GROUP BY 1, 2",
               {"model_version", "type"});
  return counters;
}

inline void ExpectCountersEqualStore(const std::vector<prometheus::MetricFamily>& families) {
  for (const auto& [name, expected] : StoreCounters()) {
    EXPECT_EQ(SamplesOf(families, name), expected) << name;
  }
}

// Inserts `count` recommendations with 1-3 events each and feedback on about a third, in one
// transaction of `txn`.
inline void InsertBatch(pqxx::transaction_base& txn, int count) {
  txn.exec(
      "WITH r AS (INSERT INTO recommendations (customer_id, product_id, model_version, ab_test_id,"
      " variant, score, price) SELECT 'c' || g, 'p' || (g % 50), "
      "(ARRAY['v1.0.0', 'v1.1.0', 'v1.2.0'])[1 + floor(random() * 3)::int], t.ab, "
      "CASE WHEN t.ab IS NOT NULL THEN (ARRAY['control', 'treatment'])[1 + (random() > 0.5)::int] "
      "END, "
      "random(), round((5 + random() * 495)::numeric, 2) FROM generate_series(1, " +
      std::to_string(count) +
      ") g, LATERAL (SELECT CASE WHEN random() < 0.5 + g * 0 THEN 'reco-ab-1' END AS ab) t "
      "RETURNING id, price), "
      "e AS (INSERT INTO outcome_events (recommendation_id, status, reason, revenue) "
      "SELECT r.id, s.status, s.reason, CASE WHEN s.status IN ('PURCHASED', 'RETURNED') "
      "THEN r.price ELSE 0 END FROM r, LATERAL (SELECT (ARRAY['PENDING', 'ACCEPTED', 'REJECTED',"
      " 'PURCHASED', 'NOT_PURCHASED', 'RETURNED'])[1 + floor(random() * 6)::int + k * 0] AS status,"
      " (ARRAY[NULL, 'PRICE_TOO_HIGH', 'SATISFIED', 'QUALITY_ISSUE'])[1 + floor(random() * 4)::int]"
      " AS reason FROM generate_series(1, 1 + (random() * 2)::int) k) s RETURNING 1), "
      "f AS (INSERT INTO feedback (recommendation_id, feedback_type, score) "
      "SELECT r.id, (ARRAY['SATISFACTION', 'QUALITY', 'RELEVANCE', 'PRICE', 'DELIVERY', "
      "'CUSTOM'])[1 + floor(random() * 6)::int], 1 + floor(random() * 5)::int FROM r "
      "WHERE random() < 0.35 RETURNING 1) "
      "SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM f)");
}

class FakeClock {
 public:
  std::chrono::steady_clock::time_point Now() const { return now_; }
  void Advance(Duration by) { now_ += by; }

 private:
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
};

}  // namespace outcomes::testing_support
