// The data_quality and store_health collectors on a real PostgreSQL. data_quality must equal an
// independent GROUP BY (window functions over each recommendation's events) of the rows written
// since it started, through transactions that commit late or roll back, including a RETURNED
// committed before the PURCHASED that precedes it; its steady-state statements must read by
// index only. store_health must report what the catalog says.
#include "exporter/collectors/data_quality.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "exporter/collectors/store_health.h"
#include "exporter/metrics/family.h"
#include "pg_sandbox.h"

namespace outcomes {
namespace {

using testing_support::PgSandbox;

PgSandbox* sandbox = nullptr;

class QualityEnvironment : public testing::Environment {
 public:
  void SetUp() override { sandbox = new PgSandbox(); }
  void TearDown() override { delete sandbox; }
};
const auto* const kEnvironment = testing::AddGlobalTestEnvironment(new QualityEnvironment);

// The sample of `name` with exactly `labels` in `families` (counters and gauges).
std::optional<double> Value(const std::vector<prometheus::MetricFamily>& families,
                            const std::string& name, const Labels& labels = {}) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      Labels got;
      for (const auto& label : metric.label) got.emplace_back(label.name, label.value);
      if (got != labels) continue;
      return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                            : metric.gauge.value;
    }
  }
  return std::nullopt;
}

// (model_version, status) -> count, sum, cumulative bucket counts, from the delay histogram.
using Histograms = std::map<std::pair<std::string, std::string>, std::vector<double>>;

Histograms DelayHistograms(const std::vector<prometheus::MetricFamily>& families) {
  Histograms out;
  for (const auto& family : families) {
    if (family.name != "outcomes_event_delay_seconds") continue;
    for (const auto& metric : family.metric) {
      std::vector<double> values = {static_cast<double>(metric.histogram.sample_count),
                                    metric.histogram.sample_sum};
      for (const auto& bucket : metric.histogram.bucket) {
        if (std::isfinite(bucket.upper_bound)) {
          values.push_back(static_cast<double>(bucket.cumulative_count));
        }
      }
      out[{metric.label[0].value, metric.label[1].value}] = values;
    }
  }
  return out;
}

void Exec(const std::string& sql) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  txn.exec(sql);
  txn.commit();
}
std::vector<std::vector<std::string>> Rows(const std::string& sql) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  std::vector<std::vector<std::string>> out;
  for (const auto& row : txn.exec(sql)) {
    std::vector<std::string> values;
    for (const auto& field : row) values.push_back(field.is_null() ? "" : field.c_str());
    out.push_back(values);
  }
  return out;
}

class DataQualityIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { sandbox->Reset(); }

  StoreConfig Store(Duration late_commit_window) {
    StoreConfig store;
    store.dsn = sandbox->dsn();
    store.late_commit_window = late_commit_window;
    return store;
  }
  StoreCollectorDeps Deps() {
    return StoreCollectorDeps{log_,
                              [](const SessionOptions& options) { return MakePgSession(options); }};
  }

  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

// `count` recommendations (a few scores above 1 or NaN), then up to three events for each of
// the recommendations past `after` in random order of status (contradictions, duplicates, dates
// before the recommendation, delays exactly on a bucket's bound) and feedback for some of them.
void WriteRandom(pqxx::work& txn, int count, std::int64_t after) {
  txn.exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) SELECT 'c', 'p', 'v' || (g % 2), CASE WHEN g % 23 = 0 THEN 1.5 "
      "WHEN g % 41 = 0 THEN 'NaN'::float8 ELSE random() END, 1, "
      "now() - random() * interval '40 days' FROM generate_series(1, " +
      std::to_string(count) + ") g");
  txn.exec(
      "INSERT INTO outcome_events (recommendation_id, status, occurred_at) "
      "SELECT r.id, (ARRAY['PENDING','ACCEPTED','REJECTED','PURCHASED','NOT_PURCHASED',"
      "'RETURNED'])[1 + floor(random() * 6)::int], "
      "CASE WHEN k = 1 AND r.id % 5 = 0 THEN r.created_at + interval '60 seconds' "
      "WHEN k = 1 AND r.id % 7 = 0 THEN r.created_at + interval '3600 seconds' "
      "ELSE r.created_at + (random() * 35 - 0.5) * interval '1 day' END "
      "FROM recommendations r, generate_series(1, 3) k WHERE r.id > " +
      std::to_string(after) + " AND random() < 0.7 ORDER BY random()");
  txn.exec(
      "INSERT INTO feedback (recommendation_id, feedback_type, score) "
      "SELECT id, 'SATISFACTION', 1 + floor(random() * 5)::int FROM recommendations "
      "WHERE id > " +
      std::to_string(after) + " AND random() < 0.4");
}

std::int64_t MaxId(pqxx::work& txn, const std::string& table) {
  return txn.exec1("SELECT coalesce(max(id), 0) FROM " + table)[0].as<std::int64_t>();
}

// What the collector must hold: an independent count of the rows in (after, upto] of each
// table, by window functions over every event of the recommendation (before `after` too).
struct Oracle {
  std::map<std::string, double> checked;  // by table
  std::map<std::string, double> issues;   // by check
  Histograms delays;
};

class OracleQueries {
 public:
  explicit OracleQueries(std::vector<double> bounds) : bounds_(std::move(bounds)) {}

  Oracle Read(const std::map<std::string, std::pair<std::int64_t, std::int64_t>>& ranges) {
    Oracle oracle;
    const auto range = [&ranges](const std::string& table) {
      return " id > " + std::to_string(ranges.at(table).first) +
             " AND id <= " + std::to_string(ranges.at(table).second);
    };
    std::string buckets;
    for (const double bound : bounds_) {
      buckets += ", count(*) FILTER (WHERE delay <= " + std::to_string(bound) + ")";
    }
    const auto events = Rows(
        "SELECT model_version, status, count(*), coalesce(sum(round(delay * 1000)), 0), "
        "count(*) FILTER (WHERE status = 'RETURNED' AND NOT coalesce(had_purchase, false)), "
        "count(*) FILTER (WHERE status = 'PURCHASED' AND NOT coalesce(had_accept, false)), "
        "count(*) FILTER (WHERE nth > 1), count(*) FILTER (WHERE delay < 0)" +
        buckets +
        " FROM (SELECT e.id, e.status, r.model_version, "
        "extract(epoch FROM e.occurred_at - r.created_at)::float8 AS delay, "
        "bool_or(e.status = 'PURCHASED') OVER w AS had_purchase, "
        "bool_or(e.status = 'ACCEPTED') OVER w AS had_accept, "
        "row_number() OVER (PARTITION BY e.recommendation_id, e.status ORDER BY e.id) AS nth "
        "FROM outcome_events e JOIN recommendations r ON r.id = e.recommendation_id "
        "WINDOW w AS (PARTITION BY e.recommendation_id ORDER BY e.id ROWS BETWEEN UNBOUNDED "
        "PRECEDING AND 1 PRECEDING)) s WHERE" +
        range("outcome_events") + " GROUP BY 1, 2");
    const char* checks[] = {"returned_without_purchase", "purchased_without_acceptance",
                            "duplicate_status", "before_recommendation"};
    for (const char* check : checks) oracle.issues[check] = 0;
    oracle.checked["outcome_events"] = 0;
    for (const auto& row : events) {
      oracle.checked["outcome_events"] += std::stod(row[2]);
      for (int i = 0; i < 4; ++i) oracle.issues[checks[i]] += std::stod(row[4 + i]);
      std::vector<double> values = {std::stod(row[2]), std::stod(row[3]) / 1000.0};
      for (std::size_t b = 0; b < bounds_.size(); ++b) values.push_back(std::stod(row[8 + b]));
      oracle.delays[{row[0], row[1]}] = values;
    }
    const auto recommendations = Rows(
        "SELECT count(*), count(*) FILTER (WHERE score IS NULL OR NOT (score >= 0 AND score <= "
        "1)) FROM recommendations WHERE" +
        range("recommendations"));
    oracle.checked["recommendations"] = std::stod(recommendations[0][0]);
    oracle.issues["score_out_of_range"] = std::stod(recommendations[0][1]);
    const auto feedback = Rows(
        "SELECT count(*), count(*) FILTER (WHERE recommendation_id NOT IN (SELECT "
        "recommendation_id FROM outcome_events)) FROM feedback WHERE" +
        range("feedback"));
    oracle.checked["feedback"] = std::stod(feedback[0][0]);
    oracle.issues["feedback_without_outcome"] = std::stod(feedback[0][1]);
    return oracle;
  }

 private:
  std::vector<double> bounds_;
};

const std::map<std::string, std::string> kTableOfCheck = {
    {"returned_without_purchase", "outcome_events"},
    {"purchased_without_acceptance", "outcome_events"},
    {"duplicate_status", "outcome_events"},
    {"before_recommendation", "outcome_events"},
    {"score_out_of_range", "recommendations"},
    {"feedback_without_outcome", "feedback"},
};

TEST_F(DataQualityIntegrationTest, EqualsAnIndependentGroupByThroughLateCommitsAndRollbacks) {
  DataQualityConfig config;
  config.interval = std::chrono::seconds(1);
  const Duration window = std::chrono::seconds(3);
  DataQualityCollector collector(Store(window), config, Deps());
  OracleQueries oracle_queries(config.delay_buckets);
  std::map<std::string, std::int64_t> base;
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    WriteRandom(txn, 300, 0);
    for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
      base[table] = MaxId(txn, table);
    }
    txn.commit();
  }
  ASSERT_TRUE(collector.Collect().status.ok());
  // Compares what the collector exported with the oracle over (base, checked up to].
  const auto compare = [&](const std::string& when) {
    const CollectOutput output = collector.Collect();
    ASSERT_TRUE(output.status.ok()) << output.status.message();
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> ranges;
    for (const auto& [table, after] : base) {
      const auto upto =
          Value(output.families, "outcomes_data_quality_checked_up_to_id", {{"table", table}});
      ASSERT_TRUE(upto.has_value()) << table;
      ranges[table] = {after, static_cast<std::int64_t>(*upto)};
    }
    const Oracle oracle = oracle_queries.Read(ranges);
    for (const auto& [table, rows] : oracle.checked) {
      EXPECT_EQ(Value(output.families, "outcomes_data_quality_checked_total", {{"table", table}}),
                rows)
          << when << ": " << table;
    }
    for (const auto& [check, rows] : oracle.issues) {
      EXPECT_EQ(Value(output.families, "outcomes_data_quality_issues_total",
                      {{"table", kTableOfCheck.at(check)}, {"check", check}}),
                rows)
          << when << ": " << check;
    }
    const Histograms delays = DelayHistograms(output.families);
    for (const auto& [key, values] : oracle.delays) {
      ASSERT_TRUE(delays.contains(key)) << when << ": " << key.first << " " << key.second;
      const std::vector<double>& got = delays.at(key);
      ASSERT_EQ(got.size(), values.size());
      EXPECT_EQ(got[0], values[0]) << when;
      EXPECT_NEAR(got[1], values[1], 1e-6 * std::abs(values[1]) + 1e-3) << when;
      for (std::size_t i = 2; i < got.size(); ++i) EXPECT_EQ(got[i], values[i]) << when << " " << i;
    }
  };

  pqxx::connection late_connection(sandbox->dsn());
  for (int round = 0; round < 3; ++round) {
    // A PURCHASED that takes its id now and commits after the RETURNED that follows it.
    auto late = std::make_unique<pqxx::work>(late_connection);
    const std::int64_t target = base["recommendations"] - round;
    late->exec("INSERT INTO outcome_events (recommendation_id, status) VALUES (" +
               std::to_string(target) + ", 'PURCHASED')");
    const std::int64_t late_id = MaxId(*late, "outcome_events");
    {
      pqxx::connection connection(sandbox->dsn());
      pqxx::work txn(connection);
      const std::int64_t top = MaxId(txn, "recommendations");
      WriteRandom(txn, 80, top);
      txn.exec("INSERT INTO outcome_events (recommendation_id, status) VALUES (" +
               std::to_string(target) + ", 'RETURNED')");
      txn.commit();
    }
    {
      pqxx::connection connection(sandbox->dsn());
      pqxx::work rolled_back(connection);
      WriteRandom(rolled_back, 5, MaxId(rolled_back, "recommendations"));
      rolled_back.abort();
    }
    compare("round " + std::to_string(round) + ", late transaction open");
    EXPECT_LT(*Value(collector.Collect().families, "outcomes_data_quality_checked_up_to_id",
                     {{"table", "outcome_events"}}),
              late_id);
    late->commit();
    compare("round " + std::to_string(round) + ", late transaction committed");
  }
  // The rolled-back ids are given up after the late-commit window: everything is judged.
  std::this_thread::sleep_for(window + std::chrono::milliseconds(500));
  compare("after the window");
  const CollectOutput output = collector.Collect();
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    // The rolled-back ids may be above the highest id: checked_up_to_id passes them too.
    const std::int64_t top = MaxId(txn, table);
    EXPECT_GE(*Value(output.families, "outcomes_data_quality_checked_up_to_id", {{"table", table}}),
              top)
        << table;
  }
  EXPECT_GT(*Value(output.families, "outcomes_data_quality_issues_total",
                   {{"table", "outcome_events"}, {"check", "returned_without_purchase"}}),
            0);
}

// The statements of a cycle, planned on a store of some size: the new rows through the primary
// key, the earlier events of their recommendations through the recommendation_id index.
TEST_F(DataQualityIntegrationTest, SteadyStateStatementsScanNoTable) {
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
      "SELECT 'c', 'p', 'v' || (g % 3), (g % 1000) / 1000.0, 1 FROM generate_series(1, 60000) g");
  Exec(
      "INSERT INTO outcome_events (recommendation_id, status) "
      "SELECT 1 + (g * 7919) % 60000, (ARRAY['PENDING','ACCEPTED','PURCHASED'])[1 + g % 3] "
      "FROM generate_series(1, 120000) g");
  Exec(
      "INSERT INTO feedback (recommendation_id, feedback_type, score) "
      "SELECT 1 + (g * 31) % 60000, 'QUALITY', 1 + g % 5 FROM generate_series(1, 20000) g");
  Exec("ANALYZE");
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  const std::map<std::string, std::pair<std::string, std::string>> statements = {
      {"quality_events", {DataQualityCollector::EventsSql(), "119800, 120000, '{60,3600}'"}},
      {"quality_recommendations", {DataQualityCollector::RecommendationsSql(), "59900, 60000"}},
      {"quality_feedback", {DataQualityCollector::FeedbackSql(), "19900, 20000"}},
  };
  for (const auto& [name, statement] : statements) {
    txn.exec("PREPARE " + name + " AS " + statement.first);
    std::string plan;
    for (const auto& row : txn.exec("EXPLAIN EXECUTE " + name + "(" + statement.second + ")")) {
      plan += std::string(row[0].c_str()) + "\n";
    }
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << name << "\n" << plan;
    EXPECT_NE(plan.find("_pkey"), std::string::npos) << name << "\n" << plan;
    if (name != "quality_recommendations") {
      EXPECT_NE(plan.find("outcome_events_recommendation_id_idx"), std::string::npos)
          << name << "\n"
          << plan;
    }
    std::cout << name << ":\n" << plan;
  }
}

TEST_F(DataQualityIntegrationTest, StoreHealthReportsTheCatalogsSizesConnectionsAndTransactions) {
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
      "SELECT 'c', 'p', 'v1', 0.5, 1 FROM generate_series(1, 5000) g");
  StoreConfig store = Store(std::chrono::minutes(10));
  store.application_name = "quality_health_test";
  StoreHealthCollector collector(store, StoreHealthConfig{}, Deps());
  // Two more sessions of the same application_name, idle, and one writing transaction.
  pqxx::connection idle_a(sandbox->dsn() + "?application_name=quality_health_test");
  pqxx::connection idle_b(sandbox->dsn() + "?application_name=quality_health_test");
  pqxx::connection writer(sandbox->dsn());
  CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output.families, "outcomes_store_oldest_transaction_age_seconds"), 0);
  EXPECT_EQ(Value(output.families, "outcomes_exporter_store_connections", {{"state", "idle"}}), 2);
  EXPECT_EQ(Value(output.families, "outcomes_exporter_store_connections", {{"state", "active"}}),
            1);
  const auto sizes =
      Rows("SELECT pg_total_relation_size('recommendations'), pg_total_relation_size('ab_tests')");
  EXPECT_EQ(
      Value(output.families, "outcomes_store_table_size_bytes", {{"table", "recommendations"}}),
      std::stod(sizes[0][0]));
  EXPECT_EQ(Value(output.families, "outcomes_store_table_size_bytes", {{"table", "ab_tests"}}),
            std::stod(sizes[0][1]));
  EXPECT_GT(*Value(output.families, "outcomes_store_database_size_bytes"), std::stod(sizes[0][0]));

  pqxx::work open(writer);
  open.exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at) "
      "VALUES ('t', 'a', 'b', now())");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const double age = *Value(output.families, "outcomes_store_oldest_transaction_age_seconds");
  EXPECT_GE(age, 1.5);
  EXPECT_LT(age, 60);
  open.abort();
}

}  // namespace
}  // namespace outcomes
