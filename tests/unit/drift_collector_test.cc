// The drift collector ("drift") against the fake store: PSI per model version from the windows'
// score histograms, new rows added and rows that crossed an edge moved incrementally, empty
// windows, NULL counts, a bad bin, the store down, a cancelled cycle.
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

// The first cycle's now() in microseconds since the epoch, and where the default windows
// (7d reference, 1d current) start then.
constexpr std::int64_t kNow = 1'764'000'000'000'000;
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kCurrentStart = kNow - 86'400 * kSecond;
constexpr std::int64_t kReferenceStart = kCurrentStart - 604'800 * kSecond;

// (fine bin, count) pairs of one histogram.
using FineCounts = std::vector<std::pair<std::int64_t, std::string>>;

// drift_baseline / drift_delta rows: (model_version, in the current window, fine bin, count).
std::vector<Row> WindowRows(const std::string& version, bool current, const FineCounts& counts) {
  std::vector<Row> rows;
  for (const auto& [fine, count] : counts) {
    rows.push_back({version, current ? "t" : "f", std::to_string(fine), count});
  }
  return rows;
}

std::vector<Row> Concat(std::initializer_list<std::vector<Row>> parts) {
  std::vector<Row> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// The snapshot's now() of the next cycle.
void SetNow(FakeStore& store, std::int64_t now) {
  store.SetRows("drift_now", {{std::to_string(now)}});
}

// The statements of the first cycle (the histograms are read from the store) over a
// recommendations table whose highest id is `max_id`.
void ScriptFirstCycle(FakeStore& store, const std::optional<std::string>& max_id,
                      std::vector<Row> windows) {
  SetNow(store, kNow);
  store.SetRows("drift_recommendations_max_id", {{max_id}});
  store.SetRows("drift_recommendations_gaps", {});
  store.SetRows("drift_baseline", std::move(windows));
}

// v1: 250 reference scores in each of the fine bins 200, 700, 1200 and 1700 (so the quartile
// cuts fall at 700, 1200 and 1700), and 100, 200, 300, 400 current scores in the same bins.
std::vector<Row> V1Windows() {
  return Concat(
      {WindowRows("v1", false, {{200, "250"}, {700, "250"}, {1200, "250"}, {1700, "250"}}),
       WindowRows("v1", true, {{200, "100"}, {700, "200"}, {1200, "300"}, {1700, "400"}})});
}

// One score of each window in each fine bin 0, 500, 1000, 1500: no drift.
void ScriptBalanced(FakeStore& store) {
  const FineCounts one_each = {{0, "1"}, {500, "1"}, {1000, "1"}, {1500, "1"}};
  ScriptFirstCycle(store, "8",
                   Concat({WindowRows("v1", false, one_each), WindowRows("v1", true, one_each)}));
}

std::optional<double> Samples(const CollectOutput& output, const std::string& version,
                              const std::string& window) {
  return Sample(output.families, "outcomes_prediction_psi_samples",
                {{"model_version", version}, {"window", window}});
}

class DriftCollectorTest : public ::testing::Test {
 protected:
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  DriftCollector collector_{StoreConfig{}, FourBins(), store_->Deps(log_)};
};

TEST_F(DriftCollectorTest, ExportsThePsiOfEachModelVersionWithItsNoiseLevel) {
  ScriptFirstCycle(*store_, "2000", V1Windows());
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const Labels v1 = {{"model_version", "v1"}};
  EXPECT_DOUBLE_EQ(*Sample(output.families, "outcomes_prediction_psi", v1),
                   stats::PopulationStabilityIndex({250, 250, 250, 250}, {100, 200, 300, 400}));
  EXPECT_GT(*Sample(output.families, "outcomes_prediction_psi_noise_level", v1), 0);
  EXPECT_EQ(Samples(output, "v1", "reference"), 1000);
  EXPECT_EQ(Samples(output, "v1", "current"), 1000);
  // reference_window 7d before current_window 1d, both ending at the snapshot's now().
  const auto baseline = store_->statements("drift_baseline");
  ASSERT_EQ(baseline.size(), 1u);
  EXPECT_EQ(baseline[0].params, (std::vector<std::string>{std::to_string(kReferenceStart),
                                                          std::to_string(kCurrentStart)}));
  EXPECT_TRUE(store_->statements("drift_edges").empty());
}

TEST_F(DriftCollectorTest, MatchesTheGoldenExposition) {
  // v2: 25 reference scores in each of the fine bins 100, 400, 800, 1500; 3, 2, 2, 3 current.
  const std::vector<Row> v2 =
      Concat({WindowRows("v2", false, {{100, "25"}, {400, "25"}, {800, "25"}, {1500, "25"}}),
              WindowRows("v2", true, {{100, "3"}, {400, "2"}, {800, "2"}, {1500, "3"}})});
  ScriptFirstCycle(*store_, "2110", Concat({V1Windows(), v2}));
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "drift");
}

TEST_F(DriftCollectorTest, TheNextCycleAddsOnlyTheNewRecommendations) {
  ScriptFirstCycle(*store_, "2000", V1Windows());
  ASSERT_TRUE(collector_.Collect().status.ok());
  // 100 new current scores in fine bin 200, ids 2001 .. 2100; the windows did not move.
  store_->SetRows("drift_recommendations_max_id", {{"2100"}});
  store_->SetRows("drift_delta", WindowRows("v1", true, {{200, "100"}}));
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_DOUBLE_EQ(*Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}),
                   stats::PopulationStabilityIndex({250, 250, 250, 250}, {200, 200, 300, 400}));
  EXPECT_EQ(store_->statements("drift_baseline").size(), 1u);
  EXPECT_TRUE(store_->statements("drift_edges").empty());
  const auto delta = store_->statements("drift_delta");
  ASSERT_EQ(delta.size(), 1u);
  EXPECT_EQ(delta[0].params,
            (std::vector<std::string>{"2000", "2100", "{}", std::to_string(kReferenceStart),
                                      std::to_string(kCurrentStart)}));
}

// Five minutes later: the counted scores created in the five minutes after each window's old
// start crossed that edge, into the reference window or out of both.
TEST_F(DriftCollectorTest, ScoresThatCrossAnEdgeMoveToTheirWindow) {
  ScriptFirstCycle(*store_, "2000", V1Windows());
  ASSERT_TRUE(collector_.Collect().status.ok());
  const std::int64_t moved = 300 * kSecond;
  SetNow(*store_, kNow + moved);
  // drift_edges: model_version, was current, is in a window, is current, fine bin, count.
  store_->SetRows("drift_edges",
                  {{"v1", "t", "t", "f", "1700", "40"}, {"v1", "f", "f", "f", "200", "50"}});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Samples(output, "v1", "reference"), 1000 + 40 - 50);
  EXPECT_EQ(Samples(output, "v1", "current"), 1000 - 40);
  const auto edges = store_->statements("drift_edges");
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].params,
            (std::vector<std::string>{std::to_string(kReferenceStart),
                                      std::to_string(kReferenceStart + moved),
                                      std::to_string(kCurrentStart),
                                      std::to_string(kCurrentStart + moved), "2000", "{}", "{}"}));
  EXPECT_TRUE(store_->statements("drift_delta").empty());  // no new ids

  // The store's clock goes back: the windows stay where they were.
  SetNow(*store_, kNow);
  store_->ClearStatements();
  const CollectOutput back = collector_.Collect();
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  EXPECT_TRUE(store_->statements("drift_edges").empty());
  EXPECT_EQ(Samples(back, "v1", "reference"), 990);
}

// The ids still missing below the watermark (a gap, and the ids past it left to the sweep)
// are not counted yet: the edges read must leave them out, or a late row would leave a window
// it never entered.
TEST_F(DriftCollectorTest, TheEdgesReadLeavesOutTheIdsNotCountedYet) {
  ScriptFirstCycle(*store_, "2000", V1Windows());
  ASSERT_TRUE(collector_.Collect().status.ok());
  // Ids 2001 .. 152000 missing: 2001 .. 102000 re-checked as a gap, the rest swept.
  store_->SetRows("drift_recommendations_max_id", {{"152001"}});
  store_->SetRows("drift_recommendations_gaps", {{"2001", "152000"}});
  store_->SetRows("drift_delta", WindowRows("v1", true, {{200, "1"}}));
  ASSERT_TRUE(collector_.Collect().status.ok());
  SetNow(*store_, kNow + 60 * kSecond);
  store_->SetRows("drift_recommendations_late_ids", {});
  store_->SetRows("drift_recommendations_sweep_ids", {});
  store_->SetRows("drift_edges", {});
  store_->ClearStatements();
  ASSERT_TRUE(collector_.Collect().status.ok());
  const auto edges = store_->statements("drift_edges");
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(std::vector<std::string>(edges[0].params.begin() + 4, edges[0].params.end()),
            (std::vector<std::string>{"152001", "{2001,102001}", "{102000,152000}"}));
}

// Days later (an outage): the edges would span more than the windows hold, so both windows are
// read once, limited to the rows counted and the new ones.
TEST_F(DriftCollectorTest, AfterALongOutageTheWindowsAreReadOnceInsteadOfTheirEdges) {
  ScriptFirstCycle(*store_, "2000", V1Windows());
  ASSERT_TRUE(collector_.Collect().status.ok());
  const std::int64_t later = kNow + 4 * 86'400 * kSecond;  // half of the 8 days the windows span
  SetNow(*store_, later);
  store_->SetRows("drift_recommendations_max_id", {{"2100"}});
  store_->SetRows("drift_rebuild", WindowRows("v1", true, {{200, "7"}, {1200, "3"}}));
  store_->ClearStatements();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto rebuild = store_->statements("drift_rebuild");
  ASSERT_EQ(rebuild.size(), 1u);
  const std::int64_t current = later - 86'400 * kSecond;
  EXPECT_EQ(rebuild[0].params,
            (std::vector<std::string>{std::to_string(current - 604'800 * kSecond),
                                      std::to_string(current), "2000", "{}", "{}", "2000", "2100",
                                      "{}"}));
  EXPECT_TRUE(store_->statements("drift_edges").empty());
  EXPECT_TRUE(store_->statements("drift_delta").empty());
  EXPECT_EQ(Samples(output, "v1", "current"), std::nullopt);  // no reference scores left
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}),
            std::nullopt);
}

// A jump of the ids wider than a gap is tracked for (kMinTrackedGapIds) leaves its upper ids
// to the sweep at once; a score the sweep finds there joins the next delta, once.
TEST_F(DriftCollectorTest, AScoreTheSweepFindsReachesTheHistogramsOnce) {
  ScriptFirstCycle(*store_, "2000", V1Windows());
  ASSERT_TRUE(collector_.Collect().status.ok());
  // Ids 2001 .. 152000 missing: 2001 .. 102000 re-checked as a gap, the rest swept.
  store_->SetRows("drift_recommendations_max_id", {{"152001"}});
  store_->SetRows("drift_recommendations_gaps", {{"2001", "152000"}});
  store_->SetRows("drift_delta", {});
  ASSERT_TRUE(collector_.Collect().status.ok());

  store_->SetRows("drift_recommendations_late_ids", {});
  store_->SetRows("drift_recommendations_sweep_ids", {{"130000"}});
  store_->SetRows("drift_delta", WindowRows("v1", true, {{200, "1"}}));
  store_->ClearStatements();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("drift_recommendations_sweep_ids").at(0).params,
            (std::vector<std::string>{"{102001}", "{152000}"}));
  EXPECT_EQ(
      store_->statements("drift_delta").at(0).params,
      (std::vector<std::string>{"152001", "152001", "{130000}", std::to_string(kReferenceStart),
                                std::to_string(kCurrentStart)}));
  EXPECT_EQ(Samples(output, "v1", "current"), 1001);

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
                   Concat({WindowRows("new", true, {{100, "5"}, {900, "5"}}),
                           WindowRows("old", false, one_each), WindowRows("old", true, one_each)}));
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "new"}}),
            std::nullopt);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "old"}}), 0);
}

TEST_F(DriftCollectorTest, NoRecommendationsExportNoFamilyAndNullCountsAreZero) {
  // An empty table: max(id) is NULL, no rows in the windows.
  ScriptFirstCycle(*store_, std::nullopt, {});
  const CollectOutput empty = collector_.Collect();
  ASSERT_TRUE(empty.status.ok()) << empty.status.message();
  EXPECT_TRUE(empty.families.empty());
  store_->SetRows("drift_recommendations_max_id", {{"3"}});
  store_->SetRows("drift_delta", {{"v1", "t", "0", std::nullopt}});
  SetNow(*store_, kNow + kSecond);
  store_->SetRows("drift_edges", {{"v1", "f", "t", "t", "0", std::nullopt}});
  const CollectOutput null_count = collector_.Collect();
  ASSERT_TRUE(null_count.status.ok()) << null_count.status.message();
  ASSERT_EQ(store_->statements("drift_delta").size(), 1u);
  ASSERT_EQ(store_->statements("drift_edges").size(), 1u);
  EXPECT_TRUE(null_count.families.empty());
}

TEST_F(DriftCollectorTest, ABinOutOfRangeFailsTheCycleAndKeepsTheLastPsi) {
  ScriptBalanced(*store_);
  ASSERT_TRUE(collector_.Collect().status.ok());
  SetNow(*store_, kNow + kSecond);
  store_->SetRows("drift_edges", {{"v1", "t", "t", "f", "2000", "1"}});
  const CollectOutput output = collector_.Collect();
  EXPECT_NE(output.status.message().find("drift_edges: bin out of range"), std::string::npos)
      << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}), 0);
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
  const CollectOutput output = CollectAndCancel(collector_, *store_, "drift_now");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "outcomes_prediction_psi", {{"model_version", "v1"}}), 0);
}

}  // namespace
}  // namespace outcomes::testing_support
