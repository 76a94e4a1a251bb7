// The analytics collectors against a real PostgreSQL, on known-answer datasets whose expected
// values are computed independently (closed forms, or Python as noted next to each value).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <sstream>

#include "exporter/collectors/ab_tests.h"
#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/drift.h"
#include "pg_sandbox.h"

namespace outcomes {
namespace {

using testing_support::PgSandbox;

PgSandbox* sandbox = nullptr;

class AnalyticsEnvironment : public testing::Environment {
 public:
  void SetUp() override { sandbox = new PgSandbox(); }
  void TearDown() override { delete sandbox; }
};
const auto* const kEnvironment = testing::AddGlobalTestEnvironment(new AnalyticsEnvironment);

// label values joined by "," -> value, for one family.
std::map<std::string, double> Samples(const CollectOutput& output, const std::string& name) {
  std::map<std::string, double> samples;
  for (const auto& family : output.families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::string key;
      for (const auto& label : metric.label) key += (key.empty() ? "" : ",") + label.value;
      samples[key] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                    : metric.gauge.value;
    }
  }
  return samples;
}

void Exec(const std::string& sql) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  txn.exec(sql);
  txn.commit();
}

class AnalyticsTest : public testing::Test {
 protected:
  void SetUp() override { sandbox->Reset(); }
  StoreConfig Store() {
    StoreConfig store;
    store.dsn = sandbox->dsn();
    return store;
  }
  StoreCollectorDeps Deps() {
    return StoreCollectorDeps{log_,
                              [](const SessionOptions& options) { return MakePgSession(options); }};
  }
  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

// `customers` customers in `variant`, one recommendation each, numbered from `first`; the
// first `converted` of them purchase for 10.
void InsertArm(const std::string& test, const std::string& variant, int customers, int converted,
               int first = 1) {
  Exec(
      "WITH r AS (INSERT INTO recommendations (customer_id, product_id, model_version, "
      "ab_test_id, variant, score, price) SELECT '" +
      variant + "-' || g, 'p', 'v1', '" + test + "', '" + variant +
      "', 0.5, 10 FROM generate_series(" + std::to_string(first) + ", " +
      std::to_string(first + customers - 1) +
      ") g RETURNING id, customer_id) "
      "INSERT INTO outcome_events (recommendation_id, status, revenue) "
      "SELECT id, 'PURCHASED', 10 FROM r WHERE split_part(customer_id, '-', 2)::int < " +
      std::to_string(first + converted));
}

TEST_F(AnalyticsTest, AbTestKnownAnswer) {
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at) "
      "VALUES ('t1', 'control', 'treatment', now() - interval '3 days')");
  InsertArm("t1", "control", 1000, 200);
  InsertArm("t1", "treatment", 1000, 250);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "outcomes_ab_customers"),
            (std::map<std::string, double>{{"t1,control", 1000}, {"t1,treatment", 1000}}));
  EXPECT_DOUBLE_EQ(Samples(output, "outcomes_ab_conversion_ratio")["t1,treatment"], 0.25);
  EXPECT_EQ(Samples(output, "outcomes_ab_purchases")["t1,control"], 200);
  EXPECT_DOUBLE_EQ(Samples(output, "outcomes_ab_revenue_per_customer")["t1,control"], 2.0);
  // python3: z-test of 200/1000 vs 250/1000 (see stats_test.cc): p = 0.0074196...
  EXPECT_NEAR(Samples(output, "outcomes_ab_p_value")["t1,z_test"], 0.007419649261025674, 1e-9);
  // The always-valid p with tau = 0.1 * 0.2 (MDE times the control's rate) is 0.214: a
  // continuously watched test has not proven anything yet. python3: the mSPRT formula of
  // stats_test.cc with tau = 0.02 gives 0.21397487458110998.
  EXPECT_NEAR(Samples(output, "outcomes_ab_msprt_tau")["t1"], 0.02, 1e-15);
  EXPECT_NEAR(Samples(output, "outcomes_ab_p_value")["t1,msprt"], 0.21397487458110998, 1e-9);
  EXPECT_NEAR(Samples(output, "outcomes_ab_lift_ratio")["t1"], 0.25, 1e-12);
  // Log-ratio (delta method) interval of the lift; the python3/scipy command is in stats_test.cc.
  EXPECT_NEAR(Samples(output, "outcomes_ab_lift_ci_lower_ratio")["t1"], 0.06094625083756311, 1e-9);
  EXPECT_NEAR(Samples(output, "outcomes_ab_lift_ci_upper_ratio")["t1"], 0.47274190258600335, 1e-9);
  // Revenue per customer: 200 (250) customers at 10, the others at 0. python3 with scipy:
  // a = r_[full(200, 10.), zeros(800)]; b = r_[full(250, 10.), zeros(750)];
  // scipy.stats.sem(a), sem(b), ttest_ind(b, a, equal_var=False).pvalue
  const auto standard_errors = Samples(output, "outcomes_ab_revenue_per_customer_standard_error");
  EXPECT_NEAR(standard_errors.at("t1,control"), 0.12655439943366653, 1e-9);
  EXPECT_NEAR(standard_errors.at("t1,treatment"), 0.13699915608779775, 1e-9);
  EXPECT_NEAR(Samples(output, "outcomes_ab_revenue_p_value")["t1"], 0.007403908842650818, 1e-9);
  EXPECT_NEAR(Samples(output, "outcomes_ab_srm_p_value")["t1"], 1.0, 1e-12);
  EXPECT_EQ(Samples(output, "outcomes_ab_winner"),
            (std::map<std::string, double>{{"t1,control", 0}, {"t1,treatment", 0}}));
}

TEST_F(AnalyticsTest, AbTestDeclaresAWinnerOnStrongEvidence) {
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at) "
      "VALUES ('t2', 'a', 'b', now() - interval '3 days')");
  InsertArm("t2", "a", 3000, 600);
  InsertArm("t2", "b", 3000, 900);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_LT(Samples(output, "outcomes_ab_p_value")["t2,msprt"], 0.05);
  EXPECT_EQ(Samples(output, "outcomes_ab_winner"),
            (std::map<std::string, double>{{"t2,a", 0}, {"t2,b", 1}}));
  EXPECT_GT(Samples(output, "outcomes_ab_chance_to_win_ratio")["t2"], 0.999);
}

TEST_F(AnalyticsTest, AbTestWithABrokenSplitHasNoWinner) {
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at) "
      "VALUES ('t3', 'a', 'b', now() - interval '3 days')");
  InsertArm("t3", "a", 2000, 400);
  InsertArm("t3", "b", 3000, 900);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // 2000 vs 3000 on a 50/50 split: X2 = 2 * 500^2 / 2500 = 200; python3:
  // math.erfc(math.sqrt(200 / 2)) = 2.08e-45.
  EXPECT_LT(Samples(output, "outcomes_ab_srm_p_value")["t3"], 1e-40);
  EXPECT_EQ(Samples(output, "outcomes_ab_winner")["t3,b"], 0);
}

TEST_F(AnalyticsTest, AbTestWinnerDoesNotFlipWithoutNewEvidence) {
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at) "
      "VALUES ('flip', 'a', 'b', now() - interval '3 days')");
  InsertArm("flip", "a", 3000, 900);
  InsertArm("flip", "b", 3000, 600);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // 900/3000 vs 600/3000 with tau = 0.1 * 0.3. python3: the mSPRT formula of stats_test.cc,
  // msprt(900, 3000, 600, 3000, 0.03) = 9.438332760238314e-16.
  EXPECT_NEAR(Samples(output, "outcomes_ab_p_value")["flip,msprt"] / 9.438332760238314e-16, 1,
              1e-6);
  EXPECT_EQ(Samples(output, "outcomes_ab_winner"),
            (std::map<std::string, double>{{"flip,a", 1}, {"flip,b", 0}}));
  // Then B does better: 1500/6000 vs 1600/6000, B ahead, but this look's own always-valid p
  // is 0.456 (python3: msprt(1500, 6000, 1600, 6000, 0.025)): no evidence for B.
  InsertArm("flip", "a", 3000, 600, 3001);
  InsertArm("flip", "b", 3000, 1000, 3001);
  output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_GT(Samples(output, "outcomes_ab_lift_ratio")["flip"], 0);
  EXPECT_NEAR(Samples(output, "outcomes_ab_p_value")["flip,msprt"] / 9.438332760238314e-16, 1,
              1e-6);
  EXPECT_EQ(Samples(output, "outcomes_ab_winner"),
            (std::map<std::string, double>{{"flip,a", 1}, {"flip,b", 0}}));
}

TEST_F(AnalyticsTest, AbTestCanaryIsJudgedAgainstItsIntendedSplit) {
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, traffic_share_b) "
      "VALUES ('canary', 'a', 'b', now() - interval '3 days', 0.1)");
  InsertArm("canary", "a", 9000, 900);
  InsertArm("canary", "b", 1000, 400);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // 9000/1000 is exactly the intended 90/10: python3 scipy.stats.chisquare([9000, 1000],
  // [9000, 1000]).pvalue = 1.0 (against 50/50 it would be 0).
  EXPECT_NEAR(Samples(output, "outcomes_ab_srm_p_value")["canary"], 1.0, 1e-12);
  EXPECT_EQ(Samples(output, "outcomes_ab_traffic_share_ratio")["canary"], 0.1);
  // python3: msprt(900, 9000, 400, 1000, 0.1 * 0.1) = 5.469142437790103e-23.
  EXPECT_NEAR(Samples(output, "outcomes_ab_p_value")["canary,msprt"] / 5.469142437790103e-23, 1,
              1e-6);
  EXPECT_EQ(Samples(output, "outcomes_ab_winner"),
            (std::map<std::string, double>{{"canary,a", 0}, {"canary,b", 1}}));
}

TEST_F(AnalyticsTest, AbTestOnAStoreWithoutTheSplitColumnAssumesFiftyFifty) {
  Exec("ALTER TABLE ab_tests DROP COLUMN traffic_share_b");
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at) "
      "VALUES ('old_store', 'a', 'b', now() - interval '3 days')");
  InsertArm("old_store", "a", 5000, 500);
  InsertArm("old_store", "b", 5200, 520);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  Exec(
      "ALTER TABLE ab_tests ADD COLUMN traffic_share_b double precision "
      "CHECK (traffic_share_b > 0 AND traffic_share_b < 1)");
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // 5000 vs 5200 against 50/50: the value and its command are in stats_test.cc.
  EXPECT_NEAR(Samples(output, "outcomes_ab_srm_p_value")["old_store"], 0.04767038065616144, 1e-9);
  EXPECT_EQ(Samples(output, "outcomes_ab_traffic_share_ratio")["old_store"], 0.5);
}

TEST_F(AnalyticsTest, AbTestsEndedLongAgoAreLeftOut) {
  Exec(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, ends_at, status) VALUES "
      "('old', 'a', 'b', now() - interval '60 days', now() - interval '30 days', 'ENDED'), "
      "('recent', 'a', 'b', now() - interval '20 days', now() - interval '2 days', 'ENDED')");
  InsertArm("old", "a", 10, 1);
  InsertArm("recent", "a", 10, 1);
  AbTestsCollector collector(Store(), AbTestsConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto customers = Samples(output, "outcomes_ab_customers");
  EXPECT_EQ(customers.count("old,a"), 0u);
  EXPECT_EQ(customers.at("recent,a"), 10);
}

TEST_F(AnalyticsTest, DriftKnownAnswer) {
  // Reference (2 to 8 days ago): 100 scores (i + 0.5) / 100, ten per decile. Current (last
  // day): 20 in each of the five lowest deciles, none above.
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) "
      "SELECT 'c', 'p', 'v1', (g + 0.5) / 100.0, 1, now() - interval '3 days' FROM "
      "generate_series(0, 99) g");
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) "
      "SELECT 'c', 'p', 'v1', ((g % 50) + 0.5) / 100.0, 1, now() - interval '1 hour' "
      "FROM generate_series(0, 99) g");
  DriftCollector collector(Store(), DriftConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // 5 bins at 0.2 against 0.1, 5 bins empty (floored to 1e-4) against 0.1.
  const double expected = 5 * (0.2 - 0.1) * std::log(2.0) + 5 * (1e-4 - 0.1) * std::log(1e-4 / 0.1);
  EXPECT_NEAR(Samples(output, "outcomes_prediction_psi")["v1"], expected, 1e-9);
  EXPECT_EQ(Samples(output, "outcomes_prediction_psi_samples"),
            (std::map<std::string, double>{{"v1,current", 100}, {"v1,reference", 100}}));
  // The simulated 95th percentile at 10 bins, N = M = 100: 0.36729 (the direct simulation and
  // its command are in stats_test.cc; the chi-square approximation would say 0.338).
  EXPECT_NEAR(Samples(output, "outcomes_prediction_psi_noise_level")["v1"], 0.36729, 0.011);
}

TEST_F(AnalyticsTest, NoDriftWhenTheDistributionHolds) {
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) "
      "SELECT 'c', 'p', 'v1', (g + 0.5) / 100.0, 1, now() - interval '3 days' FROM "
      "generate_series(0, 99) g");
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) "
      "SELECT 'c', 'p', 'v1', (g + 0.5) / 100.0, 1, now() - interval '1 hour' FROM "
      "generate_series(0, 99) g");
  DriftCollector collector(Store(), DriftConfig{}, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_NEAR(Samples(output, "outcomes_prediction_psi")["v1"], 0.0, 1e-12);
}

TEST_F(AnalyticsTest, CohortKnownAnswer) {
  // Ten recommendations 5 days ago (inside [now - 10d, now - 3d]) and one yesterday (too young).
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) "
      "SELECT 'c', 'p', 'v1', 0.5, 10, now() - interval '5 days' FROM generate_series(1, 10)");
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) "
      "VALUES ('c', 'p', 'v1', 0.5, 10, now() - interval '1 day')");
  // 1-6 accepted, 7-8 rejected, 9-10 only pending; 1-3 purchased; 1 returned; 11 accepted.
  Exec(
      "INSERT INTO outcome_events (recommendation_id, status) "
      "SELECT g, 'PENDING' FROM generate_series(1, 11) g UNION ALL "
      "SELECT g, 'ACCEPTED' FROM generate_series(1, 6) g UNION ALL "
      "SELECT g, 'REJECTED' FROM generate_series(7, 8) g UNION ALL "
      "SELECT g, 'PURCHASED' FROM generate_series(1, 3) g UNION ALL "
      "SELECT 1, 'RETURNED' UNION ALL SELECT 11, 'ACCEPTED'");
  CohortsCollector collector(Store(), CohortsConfig{}, 0.05, Deps());
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "outcomes_cohort_recommendations")["v1"], 10);
  EXPECT_DOUBLE_EQ(Samples(output, "outcomes_cohort_acceptance_ratio")["v1"], 6.0 / 8.0);
  EXPECT_DOUBLE_EQ(Samples(output, "outcomes_cohort_purchase_ratio")["v1"], 0.3);
  EXPECT_DOUBLE_EQ(Samples(output, "outcomes_cohort_return_ratio")["v1"], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(Samples(output, "outcomes_cohort_pending_ratio")["v1"], 0.2);
  EXPECT_EQ(Samples(output, "outcomes_cost_per_recommendation")[""], 0.05);
  const double first_seen =
      Samples(output, "outcomes_model_version_first_seen_timestamp_seconds")["v1"];
  const double five_days_ago =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      5 * 86400;
  EXPECT_NEAR(first_seen, five_days_ago, 60);
}

TEST_F(AnalyticsTest, AFailingQueryFailsOnlyItsCollectorAndNamesTheQuery) {
  Exec("ALTER TABLE ab_tests RENAME TO ab_tests_moved");
  AbTestsCollector ab(Store(), AbTestsConfig{}, Deps());
  CohortsCollector cohorts(Store(), CohortsConfig{}, 0, Deps());
  const CollectOutput failed = ab.Collect();
  const CollectOutput fine = cohorts.Collect();
  Exec("ALTER TABLE ab_tests_moved RENAME TO ab_tests");
  ASSERT_FALSE(failed.status.ok());
  EXPECT_EQ(failed.status.message().rfind("outcomes store: query ab_tests_list: ERROR:", 0), 0u)
      << failed.status.message();
  EXPECT_TRUE(fine.status.ok()) << fine.status.message();
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

TEST(AbWinnerRuleTest, NeedsEnoughUnitsInBothArms) {
  AbTestsConfig config;
  config.min_units_per_arm = 5000;
  AbArm a{"a", 3000, 3000, 600, 600, 0, 0, 0, 0, 0};
  AbArm b{"b", 3000, 3000, 900, 900, 0, 0, 0, 0, 0};
  EXPECT_EQ(AnalyzeAbTest("t", a, b, config, {}).winner, "");
  config.min_units_per_arm = 100;
  EXPECT_EQ(AnalyzeAbTest("t", a, b, config, {}).winner, "b");
  // The always-valid p-value only goes down: a later, weaker look keeps the earlier evidence.
  EXPECT_EQ(AnalyzeAbTest("t", a, a, config, {0.01, 1}).always_valid_p_value, 0.01);
}

TEST(AbWinnerRuleTest, WinnerIsTheArmTheStrongestEvidenceFavoured) {
  // Earlier looks proved A better (p 1e-6); now B is ahead, with its own always-valid p of
  // 0.456 (python3: the mSPRT formula of stats_test.cc, msprt(1500, 6000, 1600, 6000, 0.025)).
  const AbArm a{"a", 6000, 6000, 1500, 1500, 0, 0, 0, 0, 0};
  const AbArm b{"b", 6000, 6000, 1600, 1600, 0, 0, 0, 0, 0};
  const AbResult result = AnalyzeAbTest("t", a, b, AbTestsConfig{}, {1e-6, -1});
  EXPECT_GT(result.lift, 0);
  EXPECT_EQ(result.evidence, (AlwaysValidEvidence{1e-6, -1}));
  EXPECT_EQ(result.winner, "a");
}

TEST(AbWinnerRuleTest, WinnerChangesOnlyOnStrongerEvidence) {
  // B far ahead: 5000/20000 vs 10000/20000, always-valid p far below the earlier 1e-6.
  const AbArm a{"a", 20000, 20000, 5000, 5000, 0, 0, 0, 0, 0};
  const AbArm b{"b", 20000, 20000, 10000, 10000, 0, 0, 0, 0, 0};
  const AbResult result = AnalyzeAbTest("t", a, b, AbTestsConfig{}, {1e-6, -1});
  EXPECT_LT(result.evidence.p_value, 1e-6);
  EXPECT_EQ(result.evidence.direction, 1);
  EXPECT_EQ(result.winner, "b");
}

TEST(AbWinnerRuleTest, TauComesFromTheMinimumEffectUnlessConfigured) {
  const AbArm a{"a", 1000, 1000, 200, 200, 0, 0, 0, 0, 0};
  const AbArm b{"b", 1000, 1000, 250, 250, 0, 0, 0, 0, 0};
  AbTestsConfig config;
  config.minimum_detectable_effect = 0.1;
  // tau = 0.1 * 0.2; python3: msprt(200, 1000, 250, 1000, 0.02) = 0.21397487458110998.
  AbResult result = AnalyzeAbTest("t", a, b, config, {});
  EXPECT_NEAR(result.msprt_tau, 0.02, 1e-15);
  EXPECT_NEAR(result.always_valid_p_value, 0.21397487458110998, 1e-9);
  // An explicit tau wins: 0.05 gives 0.12167220139000691 (command in stats_test.cc).
  config.msprt_tau = 0.05;
  result = AnalyzeAbTest("t", a, b, config, {});
  EXPECT_EQ(result.msprt_tau, 0.05);
  EXPECT_NEAR(result.always_valid_p_value, 0.12167220139000691, 1e-9);
}

TEST(AbWinnerRuleTest, SampleRatioIsCheckedAgainstTheIntendedSplit) {
  const AbArm a{"a", 9100, 9100, 910, 910, 0, 0, 0, 0, 0};
  const AbArm b{"b", 900, 900, 360, 360, 0, 0, 0, 0, 0};
  // python3: scipy.stats.chisquare([9100, 900], [9000, 1000]).pvalue = 0.0008581206663936758.
  EXPECT_NEAR(AnalyzeAbTest("t", a, b, AbTestsConfig{}, {}, 0.1).srm_p_value, 0.0008581206663936758,
              1e-12);
  // An intended share outside (0, 1) cannot be checked: the split counts as broken.
  EXPECT_EQ(AnalyzeAbTest("t", a, b, AbTestsConfig{}, {}, 1.5).srm_p_value, 0);
  EXPECT_EQ(AnalyzeAbTest("t", a, b, AbTestsConfig{}, {}, 1.5).winner, "");
}

}  // namespace
}  // namespace outcomes

// Custom queries (`queries:` in the config).
#include "exporter/collectors/query.h"

namespace outcomes {
namespace {

QueryConfig Query(const std::string& name, const std::string& sql) {
  QueryConfig query;
  query.name = name;
  query.sql = sql;
  query.values = {"value"};
  return query;
}

class QueryTest : public AnalyticsTest {
 protected:
  CollectOutput Run(const QueryConfig& query) {
    QueryCollector collector(Store(), query, Deps());
    return collector.Collect();
  }
};

TEST_F(QueryTest, GaugeWithLabelsSeveralValuesAndStaticLabels) {
  QueryConfig query = Query("shop_stock",
                            "SELECT * FROM (VALUES ('eu', 3, 1.5), ('us', NULL, 2.5)) "
                            "AS t(region, items, weight)");
  query.labels = {"region"};
  query.values = {"items", "weight"};
  query.sql = "SELECT region, coalesce(items, 0) AS items, weight FROM (" + query.sql + ") s";
  query.static_labels = {{"team", "shop"}};
  const CollectOutput output = Run(query);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "shop_stock"),
            (std::map<std::string, double>{{"eu,shop,items", 3},
                                           {"eu,shop,weight", 1.5},
                                           {"us,shop,items", 0},
                                           {"us,shop,weight", 2.5}}));
  EXPECT_EQ(Samples(output, "outcomes_exporter_query_series_dropped")["shop_stock"], 0);
}

TEST_F(QueryTest, SeriesThatVanishFromTheResultVanishFromTheMetrics) {
  Exec("CREATE TABLE IF NOT EXISTS regions (name text)");
  Exec("TRUNCATE regions; INSERT INTO regions VALUES ('eu'), ('us')");
  QueryConfig query = Query("regions_seen", "SELECT name, 1 AS value FROM regions");
  query.labels = {"name"};
  QueryCollector collector(Store(), query, Deps());
  EXPECT_EQ(Samples(collector.Collect(), "regions_seen").size(), 2u);
  Exec("DELETE FROM regions WHERE name = 'us'");
  EXPECT_EQ(Samples(collector.Collect(), "regions_seen"),
            (std::map<std::string, double>{{"eu", 1}}));
  // A failing run keeps serving the last result.
  Exec("ALTER TABLE regions RENAME TO regions_moved");
  const CollectOutput failed = collector.Collect();
  Exec("ALTER TABLE regions_moved RENAME TO regions");
  EXPECT_FALSE(failed.status.ok());
  EXPECT_EQ(Samples(failed, "regions_seen"), (std::map<std::string, double>{{"eu", 1}}));
}

TEST_F(QueryTest, CardinalityLimitDropsTheExcessAndWarnsOnce) {
  QueryConfig query = Query("many", "SELECT g::text AS k, g AS value FROM generate_series(1, 5) g");
  query.labels = {"k"};
  query.max_series = 3;
  QueryCollector collector(Store(), query, Deps());
  CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "many").size(), 3u);
  EXPECT_EQ(Samples(output, "outcomes_exporter_query_series_dropped")["many"], 2);
  output = collector.Collect();
  const std::string log = log_output_.str();
  EXPECT_NE(log.find("query result exceeds max_series"), std::string::npos);
  EXPECT_EQ(log.find("query result exceeds max_series"),
            log.rfind("query result exceeds max_series"));
}

TEST_F(QueryTest, EachFailureNamesItsCauseAndSparesTheOthers) {
  struct Case {
    std::string sql;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"SELEC 1 AS value", "syntax error"},
      {"SELECT 1 AS other", "column \"value\" does not exist"},
      {"SELECT NULL::int AS value", "column value is NULL in row 1"},
      {"SELECT 'abc' AS value", "query bad: column value: expected a number, got \"abc\""},
      {"SELECT 1 AS value FROM pg_sleep(2)", "statement timeout"},
      {"SELECT 1 AS value UNION ALL SELECT 2", "two rows have the same labels"},
  };
  for (const Case& c : cases) {
    QueryConfig query = Query("bad", c.sql);
    query.timeout = std::chrono::milliseconds(300);
    const CollectOutput output = Run(query);
    ASSERT_FALSE(output.status.ok()) << c.sql;
    EXPECT_NE(output.status.message().find(c.expected), std::string::npos)
        << c.sql << " -> " << output.status.message();
  }
  // A healthy query next to them is unaffected: each has its own collector and connection.
  EXPECT_TRUE(Run(Query("good", "SELECT 1 AS value")).status.ok());
}

TEST_F(QueryTest, IncrementalCounterIsExactWithALateCommit) {
  Exec(
      "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, region text, amount_cents "
      "bigint)");
  Exec("TRUNCATE orders RESTART IDENTITY");
  Exec("INSERT INTO orders (region, amount_cents) VALUES ('eu', 100), ('us', 250)");
  QueryConfig query =
      Query("shop_orders_total",
            "SELECT o.region, 1 AS orders, o.amount_cents FROM orders o WHERE {filter}");
  query.type = "counter";
  query.labels = {"region"};
  query.values = {"orders", "amount_cents"};
  query.incremental = IncrementalQueryConfig{"orders", "o.id"};
  QueryCollector collector(Store(), query, Deps());
  ASSERT_TRUE(collector.Collect().status.ok());

  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::work slow(slow_connection);
  slow.exec("INSERT INTO orders (region, amount_cents) VALUES ('eu', 1000)");  // commits last
  Exec("INSERT INTO orders (region, amount_cents) VALUES ('eu', 5)");
  CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "shop_orders_total")["eu,orders"], 2);
  slow.commit();
  output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "shop_orders_total"),
            (std::map<std::string, double>{{"eu,amount_cents", 1105},
                                           {"eu,orders", 3},
                                           {"us,amount_cents", 250},
                                           {"us,orders", 1}}));
}

// The start-up plan check covers an incremental query's per-cycle reads: a table without an
// index on its id column is read whole every cycle, and one warning says so.
TEST_F(QueryTest, IncrementalQueryOnATableWithoutAnIdIndexIsReported) {
  Exec("CREATE TABLE IF NOT EXISTS visits (id bigint, page text)");
  Exec("TRUNCATE visits");
  Exec("INSERT INTO visits SELECT g, 'home' FROM generate_series(1, 100) g");
  QueryConfig query =
      Query("site_visits_total", "SELECT v.page, 1 AS visits FROM visits v WHERE {filter}");
  query.type = "counter";
  query.labels = {"page"};
  query.values = {"visits"};
  query.incremental = IncrementalQueryConfig{"public.visits", "v.id"};
  QueryCollector collector(Store(), query, Deps());
  ASSERT_TRUE(collector.Collect().status.ok());
  const std::string log = log_output_.str();
  EXPECT_NE(log.find("statement=public.visits_new_rows"), std::string::npos) << log;
  EXPECT_NE(log.find("plan=\"Seq Scan on visits\""), std::string::npos) << log;
}

// With a primary key on the id column, the same reads need no warning.
TEST_F(QueryTest, IncrementalQueryOnAnIndexedTableIsNotReported) {
  Exec("CREATE TABLE IF NOT EXISTS pageviews (id bigserial PRIMARY KEY, page text)");
  Exec("INSERT INTO pageviews (page) SELECT 'home' FROM generate_series(1, 100)");
  QueryConfig query =
      Query("site_pageviews_total", "SELECT v.page, 1 AS views FROM pageviews v WHERE {filter}");
  query.type = "counter";
  query.labels = {"page"};
  query.values = {"views"};
  query.incremental = IncrementalQueryConfig{"pageviews", "v.id"};
  QueryCollector collector(Store(), query, Deps());
  ASSERT_TRUE(collector.Collect().status.ok());
  const std::string log = log_output_.str();
  EXPECT_EQ(log.find("a statement reads a whole table"), std::string::npos) << log;
  EXPECT_EQ(log.find("could not check the plans"), std::string::npos) << log;
}

// A histogram family as "labels: le:count ... count=N sum=S" per label set.
std::map<std::string, std::string> Histograms(const CollectOutput& output,
                                              const std::string& name) {
  std::map<std::string, std::string> histograms;
  for (const auto& family : output.families) {
    if (family.name != name) continue;
    EXPECT_EQ(family.type, prometheus::MetricType::Histogram);
    for (const auto& metric : family.metric) {
      std::string key;
      for (const auto& label : metric.label) key += (key.empty() ? "" : ",") + label.value;
      std::ostringstream text;
      for (const auto& bucket : metric.histogram.bucket) {
        text << bucket.upper_bound << ":" << bucket.cumulative_count << " ";
      }
      text << "count=" << metric.histogram.sample_count << " sum=" << metric.histogram.sample_sum;
      histograms[key] = text.str();
    }
  }
  return histograms;
}

TEST_F(QueryTest, HistogramCountsEachValueIntoItsBucketsExactly) {
  // A value equal to a bound is in that bucket (le is inclusive); a NULL is no observation.
  QueryConfig query = Query("checkout_latency_seconds",
                            "SELECT * FROM (VALUES ('eu', 0.1), ('eu', 0.25), ('eu', 0.3), "
                            "('eu', 2.0), ('us', 0.05), ('us', NULL)) AS t(region, value)");
  query.type = "histogram";
  query.labels = {"region"};
  query.buckets = {0.1, 0.25, 1};
  const CollectOutput output = Run(query);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(
      Histograms(output, "checkout_latency_seconds"),
      (std::map<std::string, std::string>{{"eu", "0.1:1 0.25:2 1:3 inf:4 count=4 sum=2.65"},
                                          {"us", "0.1:1 0.25:1 1:1 inf:1 count=1 sum=0.05"}}));
}

TEST_F(QueryTest, IncrementalHistogramAddsOnlyNewRowsAndALateCommit) {
  Exec(
      "CREATE TABLE IF NOT EXISTS checkouts (id bigserial PRIMARY KEY, region text, seconds "
      "float8)");
  Exec("TRUNCATE checkouts RESTART IDENTITY");
  Exec("INSERT INTO checkouts (region, seconds) VALUES ('eu', 0.1), ('eu', 0.7)");
  QueryConfig query =
      Query("checkout_seconds", "SELECT c.region, c.seconds FROM checkouts c WHERE {filter}");
  query.type = "histogram";
  query.labels = {"region"};
  query.values = {"seconds"};
  query.buckets = {0.5, 1};
  query.incremental = IncrementalQueryConfig{"checkouts", "c.id"};
  QueryCollector collector(Store(), query, Deps());
  CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Histograms(output, "checkout_seconds")["eu"], "0.5:1 1:2 inf:2 count=2 sum=0.8");

  // Rows already counted are not read again: a changed old row leaves the counts as they are
  // (the tables are append-only; the periodic recount is the backstop).
  Exec("UPDATE checkouts SET seconds = 9 WHERE id = 1");
  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::work slow(slow_connection);
  slow.exec("INSERT INTO checkouts (region, seconds) VALUES ('us', 3)");  // commits last
  Exec("INSERT INTO checkouts (region, seconds) VALUES ('eu', 0.2), ('eu', 1.5)");
  output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Histograms(output, "checkout_seconds"),
            (std::map<std::string, std::string>{{"eu", "0.5:2 1:3 inf:4 count=4 sum=2.5"}}));
  slow.commit();
  output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Histograms(output, "checkout_seconds"),
            (std::map<std::string, std::string>{{"eu", "0.5:2 1:3 inf:4 count=4 sum=2.5"},
                                                {"us", "0.5:0 1:0 inf:1 count=1 sum=3"}}));
}

}  // namespace
}  // namespace outcomes
