// The drift collector ("drift") against the fake store: PSI per model version from the hourly
// score histograms and the windows' edge hours, empty windows, NULL counts, new rows added
// incrementally, the store down, a cancelled cycle.
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

// The unix hours holding the reference window's start and the current window's start: the
// default windows (7d reference, 1d current) put them 168 hours apart.
constexpr std::int64_t kFirstHour = 490008;
constexpr std::int64_t kCurrentHour = kFirstHour + 168;

// (fine bin, count) pairs of one histogram.
using FineCounts = std::vector<std::pair<std::int64_t, std::string>>;

// drift_baseline / drift_delta rows: (model_version, hour, fine bin, count).
std::vector<Row> HourRows(const std::string& version, std::int64_t hour, const FineCounts& counts) {
  std::vector<Row> rows;
  for (const auto& [fine, count] : counts) {
    rows.push_back({version, std::to_string(hour), std::to_string(fine), count});
  }
  return rows;
}

// drift_edges rows: (model_version, in the reference window, fine bin, count).
std::vector<Row> EdgeRows(const std::string& version, bool reference, const FineCounts& counts) {
  std::vector<Row> rows;
  for (const auto& [fine, count] : counts) {
    rows.push_back({version, reference ? "t" : "f", std::to_string(fine), count});
  }
  return rows;
}

std::vector<Row> Concat(std::initializer_list<std::vector<Row>> parts) {
  std::vector<Row> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// The statements of the first cycle (the histograms are built from the store) over a
// recommendations table whose highest id is `max_id`.
void ScriptFirstCycle(FakeStore& store, const std::optional<std::string>& max_id,
                      std::vector<Row> hourly, std::vector<Row> edges) {
  store.SetRows("drift_bounds", {{std::to_string(kFirstHour), std::to_string(kCurrentHour)}});
  store.SetRows("drift_recommendations_max_id", {{max_id}});
  store.SetRows("drift_recommendations_gaps", {});
  store.SetRows("drift_baseline", std::move(hourly));
  store.SetRows("drift_edges", std::move(edges));
}

// v1: 250 reference scores in each of the fine bins 200, 700, 1200 and 1700 (so the quartile
// cuts fall at 700, 1200 and 1700), and 100, 200, 300, 400 current scores in the same bins;
// part of each window in a whole hour, part in the window's edge hour.
std::vector<Row> V1Hourly() {
  return Concat({HourRows("v1", kFirstHour + 1, {{200, "150"}, {700, "150"}, {1200, "150"}}),
                 HourRows("v1", kFirstHour + 2, {{1700, "150"}}),
                 HourRows("v1", kCurrentHour + 1,
                          {{200, "60"}, {700, "120"}, {1200, "180"}, {1700, "240"}})});
}
std::vector<Row> V1Edges() {
  return Concat({EdgeRows("v1", true, {{200, "100"}, {700, "100"}, {1200, "100"}, {1700, "100"}}),
                 EdgeRows("v1", false, {{200, "40"}, {700, "80"}, {1200, "120"}, {1700, "160"}})});
}

// One score of each window in each fine bin 0, 500, 1000, 1500: no drift.
void ScriptBalanced(FakeStore& store) {
  const FineCounts one_each = {{0, "1"}, {500, "1"}, {1000, "1"}, {1500, "1"}};
  ScriptFirstCycle(store, "8",
                   Concat({HourRows("v1", kFirstHour + 5, one_each),
                           HourRows("v1", kCurrentHour + 5, one_each)}),
                   {});
}

class DriftCollectorTest : public ::testing::Test {
 protected:
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  DriftCollector collector_{StoreConfig{}, FourBins(), store_->Deps(log_)};
};

TEST_F(DriftCollectorTest, ExportsThePsiOfEachModelVersionWithItsNoiseLevel) {
  ScriptFirstCycle(*store_, "2000", V1Hourly(), V1Edges());
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const Labels v1 = {{"model_version", "v1"}};
  EXPECT_DOUBLE_EQ(*Sample(output.families, "outcomes_prediction_psi", v1),
                   stats::PopulationStabilityIndex({250, 250, 250, 250}, {100, 200, 300, 400}));
  EXPECT_GT(*Sample(output.families, "outcomes_prediction_psi_noise_level", v1), 0);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi_samples",
                   {{"model_version", "v1"}, {"window", "reference"}}),
            1000);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi_samples",
                   {{"model_version", "v1"}, {"window", "current"}}),
            1000);
  // reference_window 7d, current_window 1d; the histograms are built from the reference's
  // first hour on, the edges read in the two windows' first hours.
  const auto bounds = store_->statements("drift_bounds");
  ASSERT_EQ(bounds.size(), 1u);
  EXPECT_EQ(bounds[0].params, (std::vector<std::string>{"604800 seconds", "86400 seconds"}));
  const auto baseline = store_->statements("drift_baseline");
  ASSERT_EQ(baseline.size(), 1u);
  EXPECT_EQ(baseline[0].params, (std::vector<std::string>{std::to_string(kFirstHour)}));
  const auto edges = store_->statements("drift_edges");
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].params,
            (std::vector<std::string>{"604800 seconds", "86400 seconds", std::to_string(kFirstHour),
                                      std::to_string(kCurrentHour)}));
}

TEST_F(DriftCollectorTest, MatchesTheGoldenExposition) {
  // v2: 25 reference scores in each of the fine bins 100, 400, 800, 1500; 3, 2, 2, 3 current.
  const std::vector<Row> v2_hourly =
      Concat({HourRows("v2", kFirstHour + 30, {{100, "25"}, {400, "25"}, {800, "25"}}),
              HourRows("v2", kFirstHour + 31, {{1500, "25"}}),
              HourRows("v2", kCurrentHour + 3, {{100, "3"}, {400, "2"}, {800, "2"}, {1500, "3"}})});
  ScriptFirstCycle(*store_, "2110", Concat({V1Hourly(), v2_hourly}), V1Edges());
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "drift");
}

TEST_F(DriftCollectorTest, TheEdgeHoursAreCountedFromTheEdgesStatementOnly) {
  // The whole hours at the windows' starts hold scores outside the windows too: the
  // collector takes those hours from drift_edges, which cuts them at the windows' starts.
  const std::vector<Row> outside = Concat(
      {HourRows("v1", kFirstHour, {{200, "999"}}), HourRows("v1", kCurrentHour, {{1700, "999"}})});
  ScriptFirstCycle(*store_, "4000", Concat({V1Hourly(), outside}), V1Edges());
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi_samples",
                   {{"model_version", "v1"}, {"window", "reference"}}),
            1000);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi_samples",
                   {{"model_version", "v1"}, {"window", "current"}}),
            1000);
}

TEST_F(DriftCollectorTest, TheNextCycleAddsOnlyTheNewRecommendations) {
  ScriptFirstCycle(*store_, "2000", V1Hourly(), V1Edges());
  ASSERT_TRUE(collector_.Collect().status.ok());
  // 100 new current scores in fine bin 200, ids 2001 .. 2100.
  store_->SetRows("drift_recommendations_max_id", {{"2100"}});
  store_->SetRows("drift_delta", HourRows("v1", kCurrentHour + 2, {{200, "100"}}));
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_DOUBLE_EQ(*Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}),
                   stats::PopulationStabilityIndex({250, 250, 250, 250}, {200, 200, 300, 400}));
  EXPECT_EQ(store_->statements("drift_baseline").size(), 1u);
  const auto delta = store_->statements("drift_delta");
  ASSERT_EQ(delta.size(), 1u);
  EXPECT_EQ(delta[0].params,
            (std::vector<std::string>{"2000", "2100", "{}", std::to_string(kFirstHour)}));
}

// A jump of the ids wider than a gap is tracked for (kMinTrackedGapIds) leaves its upper ids
// to the sweep at once; a score the sweep finds there joins the next delta, once.
TEST_F(DriftCollectorTest, AScoreTheSweepFindsReachesTheHistogramsOnce) {
  ScriptFirstCycle(*store_, "2000", V1Hourly(), V1Edges());
  ASSERT_TRUE(collector_.Collect().status.ok());
  // Ids 2001 .. 152000 missing: 2001 .. 102000 re-checked as a gap, the rest swept.
  store_->SetRows("drift_recommendations_max_id", {{"152001"}});
  store_->SetRows("drift_recommendations_gaps", {{"2001", "152000"}});
  store_->SetRows("drift_delta", {});
  ASSERT_TRUE(collector_.Collect().status.ok());

  store_->SetRows("drift_recommendations_late_ids", {});
  store_->SetRows("drift_recommendations_sweep_ids", {{"130000"}});
  store_->SetRows("drift_delta", HourRows("v1", kCurrentHour + 2, {{200, "1"}}));
  store_->ClearStatements();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("drift_recommendations_sweep_ids").at(0).params,
            (std::vector<std::string>{"{102001}", "{152000}"}));
  EXPECT_EQ(store_->statements("drift_delta").at(0).params,
            (std::vector<std::string>{"152001", "152001", "{130000}", std::to_string(kFirstHour)}));
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi_samples",
                   {{"model_version", "v1"}, {"window", "current"}}),
            1001);

  // Counted: the sweep re-checks the ids around it, never it again.
  store_->SetRows("drift_recommendations_sweep_ids", {});
  store_->ClearStatements();
  ASSERT_TRUE(collector_.Collect().status.ok());
  EXPECT_EQ(store_->statements("drift_recommendations_sweep_ids").at(0).params,
            (std::vector<std::string>{"{102001,130001}", "{129999,152000}"}));
  EXPECT_TRUE(store_->statements("drift_delta").empty());
  EXPECT_TRUE(store_->statements("drift_baseline").empty());
}

TEST_F(DriftCollectorTest, AVersionWithAnEmptyWindowIsNotCompared) {
  const FineCounts one_each = {{0, "1"}, {500, "1"}, {1000, "1"}, {1500, "1"}};
  ScriptFirstCycle(*store_, "12",
                   Concat({HourRows("new", kCurrentHour + 2, {{100, "5"}, {900, "5"}}),
                           HourRows("old", kFirstHour + 7, one_each),
                           HourRows("old", kCurrentHour + 7, one_each)}),
                   {});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "new"}}),
            std::nullopt);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "old"}}), 0);
}

TEST_F(DriftCollectorTest, NoRecommendationsExportNoFamilyAndNullCountsAreZero) {
  // An empty table: max(id) is NULL, no hours, no edges.
  ScriptFirstCycle(*store_, std::nullopt, {}, {});
  const CollectOutput empty = collector_.Collect();
  ASSERT_TRUE(empty.status.ok()) << empty.status.message();
  EXPECT_TRUE(empty.families.empty());
  store_->SetRows("drift_recommendations_max_id", {{"3"}});
  store_->SetRows("drift_delta", {{"v1", std::to_string(kCurrentHour + 1), "0", std::nullopt}});
  store_->SetRows("drift_edges", {{"v1", "t", "0", std::nullopt}});
  const CollectOutput null_count = collector_.Collect();
  ASSERT_TRUE(null_count.status.ok()) << null_count.status.message();
  ASSERT_EQ(store_->statements("drift_delta").size(), 1u);
  EXPECT_TRUE(null_count.families.empty());
}

TEST_F(DriftCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastPsi) {
  ScriptBalanced(*store_);
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_FALSE(output.status.ok());
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}), 0);
}

TEST_F(DriftCollectorTest, ACancelledCycleFailsAndKeepsTheLastPsi) {
  ScriptBalanced(*store_);
  ASSERT_TRUE(collector_.Collect().status.ok());
  const CollectOutput output = CollectAndCancel(collector_, *store_, "drift_edges");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}), 0);
}

}  // namespace
}  // namespace outcomes::testing_support
