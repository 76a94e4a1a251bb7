// The A/B test collector ("ab_tests") against the fake store: per-variant and per-test
// families from the first full count (ab_tests_baseline), NULL and empty results, the store down,
// a cycle cancelled in its delta statement, the reconciliation sweep of ids missing past
// store.late_commit_window.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/ab_tests.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/fake_clock.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

// The highest ids of the three tables the aggregates watch, as the first cycle reads them.
constexpr const char* kRecommendationsTop = "6000";
constexpr const char* kEventsTop = "250";
constexpr const char* kFeedbackTop = "20";

// One arm row of ab_tests_baseline, the exact full-window count: test, variant, variant_a,
// variant_b, traffic_share_b, customers, recommendations, converted customers, purchases, returns,
// revenue in cents, satisfaction sum and count, sum of squared revenue per customer in cents².
Row Arm(const std::string& variant, const std::string& customers, const std::string& converted,
        const std::string& revenue_cents, std::optional<std::string> share = "0.5") {
  return {"homepage",    variant, "control", "treatment", std::move(share),
          customers,     "3000",  converted, converted,   "2",
          revenue_cents, "40",    "10",      "900000000"};
}

// One row of ab_tests_delta, a recommendation `id` not counted before, of `customer`, not
// purchased, returned or rated: test, variant, customer, counted, purchased and returned by
// the new events, the revenue they add in cents, purchased and returned before, satisfaction
// sum and count, the recommendation's id.
Row NewRecommendation(const std::string& variant, const std::string& customer,
                      const std::string& id = "6001") {
  return {"homepage", variant, customer, "f", "f", "f", "0", "f", "f", "0", "0", id};
}

class AbTestsCollectorTest : public ::testing::Test {
 protected:
  // On the fake clock, so that no reconciliation falls due between two cycles of a test.
  StoreCollectorDeps Deps() {
    StoreCollectorDeps deps = store_->Deps(log_);
    deps.now = SteadyOf(clock_);
    deps.wall_now = SystemOf(clock_);
    return deps;
  }

  // The statements of a first cycle: the split column, the list of tests (homepage when
  // `arms` has rows), the tables' highest ids without gaps below them, and the full count.
  void ScriptFirstCycle(std::vector<Row> arms, const std::string& has_split_column = "1",
                        std::optional<std::string> share = "0.5") {
    store_->SetRows("ab_tests_split_column", {{has_split_column}});
    std::vector<Row> tests;
    if (!arms.empty()) tests.push_back({"homepage", "control", "treatment", std::move(share)});
    store_->SetRows("ab_tests_list", std::move(tests));
    SetTop("recommendations", kRecommendationsTop);
    SetTop("outcome_events", kEventsTop);
    SetTop("feedback", kFeedbackTop);
    store_->SetRows("ab_tests_baseline", BaselineRows(std::move(arms)));
  }

  // The arms' rows as ab_tests_baseline gives them, without customers: after the full window's
  // columns, no customer, the highest recommendation id, GROUPING 1.
  static std::vector<Row> BaselineRows(std::vector<Row> arms) {
    for (Row& arm : arms) {
      arm.push_back(std::nullopt);
      arm.push_back(kRecommendationsTop);
      arm.push_back("1");
    }
    return arms;
  }

  void SetTop(const std::string& table, const std::string& top) {
    store_->SetRows("ab_tests_" + table + "_max_id", {{top}});
    store_->SetRows("ab_tests_" + table + "_gaps", {});
  }

  FakeClock clock_;
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  AbTestsCollector collector_{StoreConfig{}, AbTestsConfig{}, Deps()};
};

// The sweep's tests: recommendation ids 5990 and 5995 missing at the first count, left to the
// sweep once store.late_commit_window (10m) has passed; a pass per `reconcile_interval` (5m:
// one range per cycle of 1m) with `ranges_per_cycle` ranges at most.
class AbSweepTest : public AbTestsCollectorTest {
 protected:
  explicit AbSweepTest(std::int64_t ranges_per_cycle = 1000,
                       Duration reconcile_interval = std::chrono::minutes(5))
      : sweeping_{Store(ranges_per_cycle, reconcile_interval), AbTestsConfig{}, Deps()} {}

  static StoreConfig Store(std::int64_t ranges_per_cycle, Duration reconcile_interval) {
    StoreConfig store;
    store.sweep_ranges_per_cycle = ranges_per_cycle;
    store.reconcile_interval = reconcile_interval;
    return store;
  }

  // The first count with the two ids missing, then a cycle past the window that releases them.
  void CountAndReleaseTheGaps() {
    ScriptFirstCycle(
        {Arm("control", "1000", "100", "250050"), Arm("treatment", "1000", "150", "300000")});
    store_->SetRows("ab_tests_recommendations_gaps", {{"5990", "5990"}, {"5995", "5995"}});
    ASSERT_TRUE(sweeping_.Collect().status.ok());
    store_->SetRows("ab_tests_recommendations_gaps", {});
    store_->SetRows("ab_tests_recommendations_late_ids", {});
    clock_.Advance(std::chrono::minutes(11));
    ASSERT_TRUE(sweeping_.Collect().status.ok());
    store_->ClearStatements();
  }

  AbTestsCollector sweeping_;
};

// A pass per cycle would re-check both ranges at once; store.sweep_ranges_per_cycle bounds it.
class AbSweepOneRangePerCycleTest : public AbSweepTest {
 protected:
  AbSweepOneRangePerCycleTest() : AbSweepTest(1, std::chrono::minutes(1)) {}
};

// A recommendation that committed after the window is found by the sweep and counted through
// the delta, as a late id: once, with its customer, and logged as a correction.
TEST_F(AbSweepTest, AnIdTheSweepFindsIsCountedThroughTheDelta) {
  CountAndReleaseTheGaps();
  store_->SetRows("ab_tests_recommendations_sweep_ids", {{"5990"}});
  store_->SetRows("ab_tests_delta", {NewRecommendation("control", "c-late", "5990")});
  clock_.Advance(std::chrono::minutes(1));
  const CollectOutput output = sweeping_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto sweeps = store_->statements("ab_tests_recommendations_sweep_ids");
  ASSERT_EQ(sweeps.size(), 1u);
  EXPECT_EQ(sweeps[0].params, (std::vector<std::string>{"{5990}", "{5990}"}));
  const auto deltas = store_->statements("ab_tests_delta");
  ASSERT_EQ(deltas.size(), 1u);                         // no new rows: only the sweep's
  EXPECT_EQ(deltas[0].params[3], kRecommendationsTop);  // no range past the watermark
  EXPECT_EQ(deltas[0].params[4], kRecommendationsTop);
  EXPECT_EQ(deltas[0].params[5], "{5990}");
  const Labels control = {{"ab_test", "homepage"}, {"variant", "control"}};
  EXPECT_EQ(Sample(output.families, "outcomes_ab_customers", control), 1001);
  EXPECT_NE(log_text_.str().find("the A/B sweep found rows committed after "
                                 "store.late_commit_window"),
            std::string::npos)
      << log_text_.str();
  // Found and counted: the rest of the pass and the next re-check only the id still missing.
  store_->SetRows("ab_tests_recommendations_sweep_ids", {});
  for (int cycle = 0; cycle < 2; ++cycle) {
    clock_.Advance(std::chrono::minutes(1));
    ASSERT_TRUE(sweeping_.Collect().status.ok());
    EXPECT_EQ(store_->statements("ab_tests_recommendations_sweep_ids").back().params,
              (std::vector<std::string>{"{5995}", "{5995}"}));
  }
  EXPECT_EQ(store_->statements("ab_tests_delta").size(), 1u);
}

// One range per cycle: the pass re-checks 5990, then 5995, then starts over at 5990.
TEST_F(AbSweepOneRangePerCycleTest, APassReChecksEveryRangeInIdOrderThenStartsOver) {
  CountAndReleaseTheGaps();
  store_->SetRows("ab_tests_recommendations_sweep_ids", {});
  for (int cycle = 0; cycle < 3; ++cycle) {
    clock_.Advance(std::chrono::minutes(1));
    ASSERT_TRUE(sweeping_.Collect().status.ok());
  }
  const auto sweeps = store_->statements("ab_tests_recommendations_sweep_ids");
  ASSERT_EQ(sweeps.size(), 3u);
  EXPECT_EQ(sweeps[0].params[0], "{5990}");
  EXPECT_EQ(sweeps[1].params[0], "{5995}");
  EXPECT_EQ(sweeps[2].params[0], "{5990}");
}

// With the list of tests unchanged, no cycle after the first count reads a whole test: not
// when store.reconcile_interval passes, nor with new rows.
TEST_F(AbSweepTest, NoFullWindowStatementAfterTheFirstCountWhileNoTestChanges) {
  CountAndReleaseTheGaps();
  store_->SetRows("ab_tests_recommendations_sweep_ids", {});
  for (int cycle = 0; cycle < 12; ++cycle) {
    SetTop("recommendations", std::to_string(6001 + cycle));
    store_->SetRows("ab_tests_delta", {NewRecommendation("control", "c" + std::to_string(cycle),
                                                         std::to_string(6001 + cycle))});
    clock_.Advance(std::chrono::minutes(1));
    ASSERT_TRUE(sweeping_.Collect().status.ok());
  }
  EXPECT_TRUE(store_->statements("ab_tests_baseline").empty());
  EXPECT_EQ(store_->statements("ab_tests_delta").size(), 12u);
}

TEST_F(AbTestsCollectorTest, ExportsEachVariantAndTheTestStatistics) {
  ScriptFirstCycle(
      {Arm("control", "1000", "100", "250050"), Arm("treatment", "1000", "150", "300000")});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto& families = output.families;
  const Labels control = {{"ab_test", "homepage"}, {"variant", "control"}};
  const Labels treatment = {{"ab_test", "homepage"}, {"variant", "treatment"}};
  EXPECT_EQ(Sample(families, "outcomes_ab_customers", control), 1000);
  EXPECT_EQ(Sample(families, "outcomes_ab_conversion_ratio", control), 0.1);
  EXPECT_EQ(Sample(families, "outcomes_ab_conversion_ratio", treatment), 0.15);
  // 250050 cents over 1000 customers.
  EXPECT_EQ(Sample(families, "outcomes_ab_revenue_per_customer", control), 2.5005);
  EXPECT_EQ(Sample(families, "outcomes_ab_satisfaction_mean", control), 4);
  EXPECT_EQ(Sample(families, "outcomes_ab_return_ratio", treatment), 2.0 / 150);
  EXPECT_DOUBLE_EQ(*Sample(families, "outcomes_ab_lift_ratio", {{"ab_test", "homepage"}}), 0.5);
  EXPECT_EQ(Sample(families, "outcomes_ab_traffic_share_ratio", {{"ab_test", "homepage"}}), 0.5);
  EXPECT_EQ(Sample(families, "outcomes_ab_confidence_level"), 0.95);
  EXPECT_TRUE(
      Sample(families, "outcomes_ab_p_value", {{"ab_test", "homepage"}, {"method", "msprt"}})
          .has_value());
}

TEST_F(AbTestsCollectorTest, MatchesTheGoldenExposition) {
  ScriptFirstCycle(
      {Arm("control", "1000", "100", "250050"), Arm("treatment", "1000", "150", "300000")});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "ab_tests");
}

TEST_F(AbTestsCollectorTest, ReadsTheSplitColumnOnlyWhenTheStoreHasIt) {
  ScriptFirstCycle({Arm("control", "10", "1", "0"), Arm("treatment", "10", "1", "0")}, "1");
  ASSERT_TRUE(collector_.Collect().status.ok());
  ScriptFirstCycle({}, "0");
  ASSERT_TRUE(collector_.Collect().status.ok());
  const auto lists = store_->statements("ab_tests_list");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_NE(lists[0].sql.find("\"traffic_share_b\"::float8"), std::string::npos);
  EXPECT_NE(lists[1].sql.find("NULL::float8"), std::string::npos);
  // ended_retention, 7d by default, as an interval parameter.
  EXPECT_EQ(lists[0].params, std::vector<std::string>{"604800 seconds"});
  const auto baselines = store_->statements("ab_tests_baseline");
  ASSERT_EQ(baselines.size(), 1u);  // the first full count; the second cycle only advances
  EXPECT_NE(baselines[0].sql.find("\"traffic_share_b\"::float8"), std::string::npos);
  // ended_retention; the most rows: both arms' and one customer more than are kept (1,000,000).
  EXPECT_EQ(baselines[0].params, (std::vector<std::string>{"604800 seconds", "1000003"}));
}

TEST_F(AbTestsCollectorTest, NullShareMeansFiftyFiftyAndNullSumsAreZero) {
  Row control = Arm("control", "10", "1", "10000", std::nullopt);
  Row treatment = Arm("treatment", "10", "1", "10000", std::nullopt);
  control[10] = std::nullopt;  // sum(revenue) of customers without outcomes
  ScriptFirstCycle({control, treatment}, "1", std::nullopt);
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_ab_traffic_share_ratio", {{"ab_test", "homepage"}}),
            0.5);
  EXPECT_EQ(Sample(output.families, "outcomes_ab_revenue_per_customer",
                   {{"ab_test", "homepage"}, {"variant", "control"}}),
            0);
}

TEST_F(AbTestsCollectorTest, NoRunningTestExportsOnlyTheConfiguredConfidence) {
  ScriptFirstCycle({});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ASSERT_EQ(output.families.size(), 1u);
  EXPECT_EQ(output.families[0].name, "outcomes_ab_confidence_level");
}

TEST_F(AbTestsCollectorTest, AListedTestWithoutCustomersIsNotExported) {
  // As the full-window statement, which has no row for a test without customers.
  ScriptFirstCycle({Arm("control", "0", "0", "0"), Arm("treatment", "0", "0", "0")});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(FindFamily(output.families, "outcomes_ab_customers"), nullptr);
}

TEST_F(AbTestsCollectorTest, AShortRowFailsTheCycle) {
  ScriptFirstCycle({{"homepage", "control"}});
  EXPECT_EQ(collector_.Collect().status.message(),
            "outcomes store: ab_tests_baseline: unexpected column count");
}

TEST_F(AbTestsCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastResults) {
  ScriptFirstCycle({Arm("control", "1000", "100", "0"), Arm("treatment", "1000", "150", "0")});
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(), "outcomes store: cannot connect to fake: connection refused");
  EXPECT_EQ(Sample(output.families, "outcomes_ab_customers",
                   {{"ab_test", "homepage"}, {"variant", "treatment"}}),
            1000);
}

TEST_F(AbTestsCollectorTest, ACancelledCycleFailsKeepsTheLastResultsAndTheNextCountsTheRows) {
  ScriptFirstCycle({Arm("control", "1000", "100", "0"), Arm("treatment", "1000", "150", "0")});
  ASSERT_TRUE(collector_.Collect().status.ok());
  // One new recommendation, a new customer of control: the next cycle reads only its delta.
  SetTop("recommendations", "6001");
  store_->SetRows("ab_tests_delta", {NewRecommendation("control", "c-new")});
  const CollectOutput output = CollectAndCancel(collector_, *store_, "ab_tests_delta");
  EXPECT_EQ(output.status.message(),
            "outcomes store: query ab_tests_delta: ERROR:  canceling statement due to user "
            "request");
  const Labels control = {{"ab_test", "homepage"}, {"variant", "control"}};
  EXPECT_EQ(Sample(output.families, "outcomes_ab_customers", control), 1000);
  // The cancelled cycle moved no watermark: the next one reads the same rows, once.
  const CollectOutput next = collector_.Collect();
  ASSERT_TRUE(next.status.ok()) << next.status.message();
  EXPECT_EQ(Sample(next.families, "outcomes_ab_customers", control), 1001);
  const auto deltas = store_->statements("ab_tests_delta");
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[1].params[3], kRecommendationsTop);
  EXPECT_EQ(deltas[1].params[4], "6001");
  EXPECT_EQ(store_->statements("ab_tests_baseline").size(), 1u);  // no full count again
  // The customers held after the first count are all of them: a new one needs no read-back.
  EXPECT_TRUE(store_->statements("ab_tests_history").empty());
}

// A customer row of ab_tests_baseline: the sums over that customer alone, its id, its highest
// recommendation id, GROUPING 0.
Row BaselineCustomer(const std::string& variant, const std::string& customer,
                     const std::string& last_id) {
  return {"homepage", variant, "control", "treatment", "0.5",     "1",      "3",     "1", "1",
          "0",        "2500",  "0",       "0",         "6250000", customer, last_id, "0"};
}

// The baseline's customers are the state the delta starts from: a new recommendation of a
// customer it listed adds no customer.
TEST_F(AbTestsCollectorTest, TheBaselinesCustomersAreTheStateTheDeltaStartsFrom) {
  const std::vector<Row> arms = {Arm("control", "1000", "100", "0"),
                                 Arm("treatment", "1000", "150", "0")};
  ScriptFirstCycle(arms);
  std::vector<Row> rows = BaselineRows(arms);
  rows.push_back(BaselineCustomer("control", "c-known", "5999"));
  store_->SetRows("ab_tests_baseline", rows);
  ASSERT_TRUE(collector_.Collect().status.ok());
  SetTop("recommendations", "6001");
  store_->SetRows("ab_tests_delta", {NewRecommendation("control", "c-known")});
  const CollectOutput next = collector_.Collect();
  ASSERT_TRUE(next.status.ok()) << next.status.message();
  const Labels control = {{"ab_test", "homepage"}, {"variant", "control"}};
  EXPECT_EQ(Sample(next.families, "outcomes_ab_customers", control), 1000);
  EXPECT_EQ(Sample(next.families, "outcomes_ab_recommendations", control), 3001);
  EXPECT_TRUE(store_->statements("ab_tests_history").empty());
}

// More customers than analytics.ab_tests.max_tracked_customers: the first ones are kept, and a
// customer the state does not hold is read back from the store before the delta counts it.
TEST_F(AbTestsCollectorTest, PastTheCustomerCapTheBaselineKeepsTheMostRecentCustomers) {
  AbTestsConfig config;
  config.max_tracked_customers = 1;
  AbTestsCollector capped{StoreConfig{}, config, Deps()};
  const std::vector<Row> arms = {Arm("control", "1000", "100", "0"),
                                 Arm("treatment", "1000", "150", "0")};
  ScriptFirstCycle(arms);
  std::vector<Row> rows = BaselineRows(arms);
  rows.push_back(BaselineCustomer("control", "c-recent", "5999"));
  rows.push_back(BaselineCustomer("control", "c-older", "5001"));
  store_->SetRows("ab_tests_baseline", rows);
  ASSERT_TRUE(capped.Collect().status.ok());
  // Both arms' rows and one customer more than kept.
  EXPECT_EQ(store_->statements("ab_tests_baseline").at(0).params.back(), "4");
  SetTop("recommendations", "6001");
  store_->SetRows("ab_tests_delta", {NewRecommendation("control", "c-recent")});
  ASSERT_TRUE(capped.Collect().status.ok());
  EXPECT_TRUE(store_->statements("ab_tests_history").empty());
  SetTop("recommendations", "6002");
  store_->SetRows("ab_tests_delta", {NewRecommendation("control", "c-older", "6002")});
  store_->SetRows("ab_tests_history", {});
  ASSERT_TRUE(capped.Collect().status.ok());
  const auto history = store_->statements("ab_tests_history");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].params[2], "{\"c-older\"}");
}

}  // namespace
}  // namespace outcomes::testing_support
