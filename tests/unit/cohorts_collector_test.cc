// The matured-cohort collector ("cohorts") against the fake store: the rates of each model
// version's matured cohort, first-seen times, NULL and empty results, the store down, a
// cancelled cycle.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/cohorts.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

class CohortsCollectorTest : public ::testing::Test {
 protected:
  // cohorts: model_version, recommendations, accepted, rejected, purchased, returned, pending.
  void ScriptTwoVersions() {
    store_->SetRows("cohorts", {{"v1", "1000", "600", "200", "100", "10", "50"},
                                {"v2", "400", "100", "300", "20", "5", "0"}});
    store_->SetRows("model_versions_first_seen", {{"v1", "1764000000"}, {"v2", "1764500000.5"}});
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
  EXPECT_EQ(Sample(families, "outcomes_model_version_first_seen_timestamp_seconds",
                   {{"model_version", "v2"}}),
            1764500000.5);
  EXPECT_EQ(Sample(families, "outcomes_cost_per_recommendation"), 0.002);
  // lag 3d, window 7d.
  EXPECT_EQ(store_->statements("cohorts").at(0).params,
            (std::vector<std::string>{"259200 seconds", "604800 seconds"}));
}

TEST_F(CohortsCollectorTest, MatchesTheGoldenExposition) {
  ScriptTwoVersions();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "cohorts");
}

TEST_F(CohortsCollectorTest, AnEmptyCohortExportsOnlyTheCostAndZeroDenominatorsGiveZero) {
  store_->SetRows("cohorts", {});
  store_->SetRows("model_versions_first_seen", {});
  const CollectOutput empty = collector_.Collect();
  ASSERT_TRUE(empty.status.ok()) << empty.status.message();
  ASSERT_EQ(empty.families.size(), 1u);
  EXPECT_EQ(empty.families[0].name, "outcomes_cost_per_recommendation");

  store_->SetRows("cohorts", {{"v1", "10", std::nullopt, std::nullopt, "0", "0", "10"}});
  store_->SetRows("model_versions_first_seen", {{"v1", std::nullopt}});
  const CollectOutput nulls = collector_.Collect();
  ASSERT_TRUE(nulls.status.ok()) << nulls.status.message();
  EXPECT_EQ(Sample(nulls.families, "outcomes_cohort_acceptance_ratio", {{"model_version", "v1"}}),
            0);
  EXPECT_EQ(Sample(nulls.families, "outcomes_cohort_return_ratio", {{"model_version", "v1"}}), 0);
  EXPECT_EQ(Sample(nulls.families, "outcomes_cohort_pending_ratio", {{"model_version", "v1"}}), 1);
}

TEST_F(CohortsCollectorTest, AFailingFirstSeenQueryKeepsTheWholeLastCycle) {
  ScriptTwoVersions();
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->SetRows("cohorts", {{"v1", "1", "1", "0", "0", "0", "0"}});
  store_->FailQuery("model_versions_first_seen", "ERROR:  relation does not exist");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: query model_versions_first_seen: ERROR:  relation does not exist");
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_recommendations", {{"model_version", "v1"}}),
            1000);
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
  const CollectOutput output = CollectAndCancel(collector_, *store_, "cohorts");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "outcomes_cohort_recommendations", {{"model_version", "v1"}}),
            1000);
}

}  // namespace
}  // namespace outcomes::testing_support
