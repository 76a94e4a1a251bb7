// The matured-cohort collector ("cohorts") against the fake store: the rates of each model
// version's matured cohort from the per-minute aggregates and the window's edges, first-seen
// times, empty tables and zero denominators, a failing statement, the store down, a cancelled
// cycle.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/cohorts.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

// The unix minutes of now - lag - window and now - lag for lag 3d, window 7d on 2025-12-01.
constexpr std::int64_t kFirstMinute = 29394720;
constexpr std::int64_t kLastMinute = kFirstMinute + 7 * 24 * 60;

std::string Minute(std::int64_t offset) { return std::to_string(kFirstMinute + offset); }

// The statements of the new-row trackers: both tables at the given top id, no gaps.
void ScriptTops(FakeStore& store, std::optional<std::string> recommendations,
                std::optional<std::string> events) {
  store.SetRows("cohorts_bounds", {{std::to_string(kFirstMinute), std::to_string(kLastMinute)}});
  store.SetRows("cohorts_recommendations_max_id", {{recommendations}});
  store.SetRows("cohorts_outcome_events_max_id", {{events}});
  store.SetRows("cohorts_recommendations_gaps", {});
  store.SetRows("cohorts_outcome_events_gaps", {});
}

class CohortsCollectorTest : public ::testing::Test {
 protected:
  // The first cycle builds the per-minute aggregates (the baseline); the edge minutes come from
  // cohorts_edges, so the baseline's rows for them are not counted.
  // cohorts_baseline: model_version, minute, recommendations, accepted, rejected, purchased,
  // returned, pending; cohorts_edges: the same without the minute.
  void ScriptTwoVersions() {
    ScriptTops(*store_, "1400", "2000");
    store_->SetRows("cohorts_baseline", {{"v1", Minute(0), "7", "7", "0", "0", "0", "0"},
                                         {"v1", Minute(300), "600", "350", "120", "60", "6", "30"},
                                         {"v1", Minute(5000), "390", "240", "80", "38", "4", "19"},
                                         {"v2", Minute(6000), "400", "100", "300", "20", "5", "0"},
                                         {"v2", Minute(10080), "3", "0", "3", "0", "0", "0"}});
    store_->SetRows("cohorts_edges", {{"v1", "10", "10", "0", "2", "0", "1"}});
    store_->SetRows("model_versions_first_seen", {{"v1", "1764000000"}, {"v2", "1764500000.5"}});
  }

  // A second cycle whose new rows add one v1 recommendation, accepted, in an interior minute.
  void ScriptOneMoreAcceptedV1() {
    ScriptTops(*store_, "1401", "2001");
    store_->SetRows("cohorts_delta", {{"v1", Minute(9000), "1", "1", "0", "0", "0", "0"}});
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  CohortsCollector collector_{StoreConfig{}, CohortsConfig{}, 0.002, store_->Deps(log_)};
};

TEST_F(CohortsCollectorTest, ExportsTheRatesOfEachMaturedCohort) {
  ScriptTwoVersions();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto& families = output.families;
  const Labels v1 = {{"model_version", "v1"}};
  EXPECT_EQ(Sample(families, "outcomes_cohort_recommendations", v1), 1000);
  EXPECT_EQ(Sample(families, "outcomes_cohort_acceptance_ratio", v1), 0.75);
  EXPECT_EQ(Sample(families, "outcomes_cohort_purchase_ratio", v1), 0.1);
  EXPECT_EQ(Sample(families, "outcomes_cohort_return_ratio", v1), 0.1);
  EXPECT_EQ(Sample(families, "outcomes_cohort_pending_ratio", v1), 0.05);
  EXPECT_EQ(Sample(families, "outcomes_cohort_recommendations", {{"model_version", "v2"}}), 400);
  EXPECT_EQ(Sample(families, "outcomes_model_version_first_seen_timestamp_seconds",
                   {{"model_version", "v2"}}),
            1764500000.5);
  EXPECT_EQ(Sample(families, "outcomes_cost_per_recommendation"), 0.002);
  // lag 3d, window 7d; the baseline starts at the window's first minute.
  EXPECT_EQ(store_->statements("cohorts_bounds").at(0).params,
            (std::vector<std::string>{"259200 seconds", "604800 seconds"}));
  EXPECT_EQ(store_->statements("cohorts_baseline").at(0).params,
            (std::vector<std::string>{Minute(0)}));
  EXPECT_EQ(store_->statements("cohorts_edges").at(0).params,
            (std::vector<std::string>{"259200 seconds", "604800 seconds", Minute(0),
                                      std::to_string(kLastMinute)}));
}

TEST_F(CohortsCollectorTest, MatchesTheGoldenExposition) {
  ScriptTwoVersions();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "cohorts");
}

TEST_F(CohortsCollectorTest, ASecondCycleAddsTheDeltaOfTheNewRowsOnly) {
  ScriptTwoVersions();
  ASSERT_TRUE(collector_.Collect().status.ok());
  ScriptOneMoreAcceptedV1();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("cohorts_baseline").size(), 1u);
  // Recommendations (1400, 1401] and events (2000, 2001], no late ids, from the first minute.
  EXPECT_EQ(store_->statements("cohorts_delta").at(0).params,
            (std::vector<std::string>{"1400", "1401", "{}", "2000", "2001", "{}", Minute(0)}));
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_recommendations", {{"model_version", "v1"}}),
            1001);
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_acceptance_ratio", {{"model_version", "v1"}}),
            601.0 / 801.0);
}

// A jump of the recommendation ids wider than a gap is tracked for (kMinTrackedGapIds) leaves
// its upper ids to the sweep at once; a row the sweep finds there joins the next delta, once.
TEST_F(CohortsCollectorTest, ARowTheSweepFindsReachesTheAggregatesOnce) {
  ScriptTwoVersions();
  ASSERT_TRUE(collector_.Collect().status.ok());
  // Ids 1401 .. 151400 missing: 1401 .. 101400 re-checked as a gap, the rest swept.
  ScriptTops(*store_, "151401", "2000");
  store_->SetRows("cohorts_recommendations_gaps", {{"1401", "151400"}});
  store_->SetRows("cohorts_delta", {});
  ASSERT_TRUE(collector_.Collect().status.ok());

  ScriptTops(*store_, "151401", "2000");
  store_->SetRows("cohorts_recommendations_late_ids", {});
  store_->SetRows("cohorts_recommendations_sweep_ids", {{"120000"}});
  store_->SetRows("cohorts_delta", {{"v1", Minute(9000), "1", "1", "0", "0", "0", "0"}});
  store_->ClearStatements();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("cohorts_recommendations_sweep_ids").at(0).params,
            (std::vector<std::string>{"{101401}", "{151400}"}));
  EXPECT_EQ(
      store_->statements("cohorts_delta").at(0).params,
      (std::vector<std::string>{"151401", "151401", "{120000}", "2000", "2000", "{}", Minute(0)}));
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_recommendations", {{"model_version", "v1"}}),
            1001);
  EXPECT_NE(log_text_.str().find("the sweep found rows"), std::string::npos);

  // Counted: the sweep re-checks the ids around it, never it again.
  store_->SetRows("cohorts_recommendations_sweep_ids", {});
  store_->ClearStatements();
  ASSERT_TRUE(collector_.Collect().status.ok());
  EXPECT_EQ(store_->statements("cohorts_recommendations_sweep_ids").at(0).params,
            (std::vector<std::string>{"{101401,120001}", "{119999,151400}"}));
  EXPECT_TRUE(store_->statements("cohorts_delta").empty());
  EXPECT_EQ(store_->statements("cohorts_baseline").size(), 0u);
}

TEST_F(CohortsCollectorTest, EmptyTablesExportOnlyTheCostAndZeroDenominatorsGiveZero) {
  // Empty tables: max(id) is NULL, no baseline rows, no edges, no versions.
  ScriptTops(*store_, std::nullopt, std::nullopt);
  store_->SetRows("cohorts_baseline", {});
  store_->SetRows("cohorts_edges", {});
  store_->SetRows("model_versions_first_seen", {});
  const CollectOutput empty = collector_.Collect();
  ASSERT_TRUE(empty.status.ok()) << empty.status.message();
  ASSERT_EQ(empty.families.size(), 1u);
  EXPECT_EQ(empty.families[0].name, "outcomes_cost_per_recommendation");

  // Then ten v1 recommendations without any event yet.
  ScriptTops(*store_, "10", std::nullopt);
  store_->SetRows("cohorts_delta", {{"v1", Minute(100), "10", "0", "0", "0", "0", "10"}});
  store_->SetRows("model_versions_first_seen", {{"v1", "1763700000"}});
  const CollectOutput undecided = collector_.Collect();
  ASSERT_TRUE(undecided.status.ok()) << undecided.status.message();
  const Labels v1 = {{"model_version", "v1"}};
  EXPECT_EQ(Sample(undecided.families, "outcomes_cohort_recommendations", v1), 10);
  EXPECT_EQ(Sample(undecided.families, "outcomes_cohort_acceptance_ratio", v1), 0);
  EXPECT_EQ(Sample(undecided.families, "outcomes_cohort_return_ratio", v1), 0);
  EXPECT_EQ(Sample(undecided.families, "outcomes_cohort_pending_ratio", v1), 1);
}

TEST_F(CohortsCollectorTest, AFailingFirstSeenQueryKeepsTheWholeLastCycle) {
  ScriptTwoVersions();
  ASSERT_TRUE(collector_.Collect().status.ok());
  ScriptOneMoreAcceptedV1();
  store_->FailQuery("model_versions_first_seen", "ERROR:  relation does not exist");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: query model_versions_first_seen: ERROR:  relation does not exist");
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_recommendations", {{"model_version", "v1"}}),
            1000);

  // Nor were the new rows taken as read: the next cycle asks for the same ids again.
  store_->ClearFailure("model_versions_first_seen");
  store_->ClearStatements();
  ASSERT_TRUE(collector_.Collect().status.ok());
  EXPECT_EQ(store_->statements("cohorts_delta").at(0).params.at(0), "1400");
}

TEST_F(CohortsCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastRates) {
  ScriptTwoVersions();
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(), "outcomes store: cannot connect to fake: connection refused");
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_acceptance_ratio", {{"model_version", "v2"}}),
            0.25);
}

TEST_F(CohortsCollectorTest, ACancelledCycleFailsAndKeepsTheLastRates) {
  ScriptTwoVersions();
  ASSERT_TRUE(collector_.Collect().status.ok());
  ScriptOneMoreAcceptedV1();
  const CollectOutput output = CollectAndCancel(collector_, *store_, "cohorts_edges");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_recommendations", {{"model_version", "v1"}}),
            1000);
}

}  // namespace
}  // namespace outcomes::testing_support
