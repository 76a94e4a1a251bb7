// The drift collector ("drift") against the fake store: PSI per model version from the bin
// counts, empty windows, the store down, a cancelled cycle.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/analytics/stats.h"
#include "exporter/collectors/drift.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

DriftConfig FourBins() {
  DriftConfig config;
  config.bins = 4;
  return config;
}

// drift_bins rows for one version: reference and current counts per bin 0..3.
std::vector<Row> Bins(const std::string& version, const std::vector<std::string>& reference,
                      const std::vector<std::string>& current) {
  std::vector<Row> rows;
  for (std::size_t bin = 0; bin < reference.size(); ++bin) {
    rows.push_back({version, "reference", std::to_string(bin), reference[bin]});
  }
  for (std::size_t bin = 0; bin < current.size(); ++bin) {
    rows.push_back({version, "current", std::to_string(bin), current[bin]});
  }
  return rows;
}

class DriftCollectorTest : public ::testing::Test {
 protected:
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  DriftCollector collector_{StoreConfig{}, FourBins(), store_->Deps(log_)};
};

TEST_F(DriftCollectorTest, ExportsThePsiOfEachModelVersionWithItsNoiseLevel) {
  store_->SetRows("drift_bins",
                  Bins("v1", {"250", "250", "250", "250"}, {"100", "200", "300", "400"}));
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const Labels v1 = {{"model_version", "v1"}};
  EXPECT_DOUBLE_EQ(*Sample(output.families, "outcomes_prediction_psi", v1),
                   stats::PopulationStabilityIndex({250, 250, 250, 250}, {100, 200, 300, 400}));
  EXPECT_GT(*Sample(output.families, "outcomes_prediction_psi_noise_level", v1), 0);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi_samples",
                   {{"model_version", "v1"}, {"window", "current"}}),
            1000);
  const auto bins = store_->statements("drift_bins");
  ASSERT_EQ(bins.size(), 1u);
  // reference_window 7d, current_window 1d.
  EXPECT_EQ(bins[0].params, (std::vector<std::string>{"604800 seconds", "86400 seconds"}));
}

TEST_F(DriftCollectorTest, MatchesTheGoldenExposition) {
  std::vector<Row> rows = Bins("v1", {"250", "250", "250", "250"}, {"100", "200", "300", "400"});
  const std::vector<Row> v2 = Bins("v2", {"30", "20", "25", "25"}, {"3", "2", "2", "3"});
  rows.insert(rows.end(), v2.begin(), v2.end());
  store_->SetRows("drift_bins", rows);
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "drift");
}

TEST_F(DriftCollectorTest, AVersionWithAnEmptyWindowIsNotCompared) {
  std::vector<Row> rows = Bins("new", {}, {"5", "5", "5", "5"});
  const std::vector<Row> old = Bins("old", {"1", "1", "1", "1"}, {"1", "1", "1", "1"});
  rows.insert(rows.end(), old.begin(), old.end());
  store_->SetRows("drift_bins", rows);
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "new"}}),
            std::nullopt);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "old"}}), 0);
}

TEST_F(DriftCollectorTest, NoRecommendationsExportNoFamilyAndNullCountsAreZero) {
  store_->SetRows("drift_bins", {});
  const CollectOutput empty = collector_.Collect();
  ASSERT_TRUE(empty.status.ok()) << empty.status.message();
  EXPECT_TRUE(empty.families.empty());
  store_->SetRows("drift_bins", {{"v1", "reference", "0", std::nullopt}});
  const CollectOutput null_count = collector_.Collect();
  ASSERT_TRUE(null_count.status.ok()) << null_count.status.message();
  EXPECT_TRUE(null_count.families.empty());
}

TEST_F(DriftCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastPsi) {
  store_->SetRows("drift_bins", Bins("v1", {"1", "1", "1", "1"}, {"1", "1", "1", "1"}));
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_FALSE(output.status.ok());
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}), 0);
}

TEST_F(DriftCollectorTest, ACancelledCycleFailsAndKeepsTheLastPsi) {
  store_->SetRows("drift_bins", Bins("v1", {"1", "1", "1", "1"}, {"1", "1", "1", "1"}));
  ASSERT_TRUE(collector_.Collect().status.ok());
  const CollectOutput output = CollectAndCancel(collector_, *store_, "drift_bins");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}), 0);
}

}  // namespace
}  // namespace outcomes::testing_support
