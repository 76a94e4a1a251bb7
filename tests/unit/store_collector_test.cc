// The store collector ("store") against the fake store: counters from the reference tables,
// empty and NULL results, the store down, and a cycle cancelled at its deadline.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/store.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/fake_clock.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

// The rows of the three reference tables, as the first full count reads them.
struct Tables {
  std::string recommendations_max = "0";
  std::string events_max = "0";
  std::string feedback_max = "0";
  std::vector<Row> recommendations;  // model_version, ab_test, variant, count
  std::vector<Row> events;    // model_version, ab_test, variant, status, reason, count, cents, ms
  std::vector<Row> feedback;  // model_version, type, sentiment, count, score_sum
};

void Script(FakeStore& store, const Tables& tables) {
  store.SetRows("recommendations_max_id", {{tables.recommendations_max}});
  store.SetRows("outcome_events_max_id", {{tables.events_max}});
  store.SetRows("feedback_max_id", {{tables.feedback_max}});
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    store.SetRows(std::string(table) + "_gaps", {});
  }
  store.SetRows("recommendations_full", tables.recommendations);
  store.SetRows("outcome_events_full", tables.events);
  store.SetRows("feedback_full", tables.feedback);
}

Tables TwoModelVersions() {
  Tables tables;
  tables.recommendations_max = "30";
  tables.events_max = "12";
  tables.feedback_max = "4";
  tables.recommendations = {{"v1", "", "", "20"}, {"v2", "ab-1", "B", "10"}};
  tables.events = {
      {"v1", "", "", "PURCHASED", "", "5", "12550", "1764547200000"},
      {"v1", "", "", "RETURNED", "damaged", "1", "2500", "1764547100000"},
      {"v2", "ab-1", "B", "REJECTED", "", "6", "0", "1764547300500"},
  };
  tables.feedback = {{"v1", "SATISFACTION", "positive", "3", "14"},
                     {"v1", "SATISFACTION", "negative", "1", "1"}};
  return tables;
}

class StoreCollectorTest : public ::testing::Test {
 protected:
  // On the fake clock, so that the recount timestamp is the same in every run.
  StoreCollectorDeps Deps() {
    StoreCollectorDeps deps = store_->Deps(log_);
    deps.now = SteadyOf(clock_);
    deps.wall_now = SystemOf(clock_);
    return deps;
  }

  FakeClock clock_;
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  StoreCollector collector_{StoreConfig{}, Deps()};
};

TEST_F(StoreCollectorTest, ExportsTheCountersOfTheReferenceTables) {
  Script(*store_, TwoModelVersions());
  store_->SetDuration("recommendations_full", 0.25);
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto& families = output.families;
  EXPECT_EQ(Sample(families, "outcomes_store_up"), 1);
  EXPECT_EQ(Sample(families, "outcomes_recommendations_total",
                   {{"model_version", "v2"}, {"ab_test", "ab-1"}, {"variant", "B"}}),
            10);
  EXPECT_EQ(Sample(families, "outcomes_events_total",
                   {{"model_version", "v1"},
                    {"ab_test", ""},
                    {"variant", ""},
                    {"status", "RETURNED"},
                    {"reason", "damaged"}}),
            1);
  EXPECT_EQ(
      Sample(families, "outcomes_revenue_total",
             {{"model_version", "v1"}, {"ab_test", ""}, {"variant", ""}, {"status", "PURCHASED"}}),
      125.5);
  // Only PURCHASED and RETURNED carry revenue.
  EXPECT_EQ(
      Sample(
          families, "outcomes_revenue_total",
          {{"model_version", "v2"}, {"ab_test", "ab-1"}, {"variant", "B"}, {"status", "REJECTED"}}),
      std::nullopt);
  EXPECT_EQ(Sample(families, "outcomes_store_last_event_timestamp_seconds"), 1764547300.5);
  EXPECT_EQ(Sample(families, "outcomes_feedback_score_total",
                   {{"model_version", "v1"}, {"type", "SATISFACTION"}}),
            15);
  EXPECT_EQ(Sample(families, "outcomes_store_watermark_id", {{"table", "recommendations"}}), 30);
  EXPECT_EQ(Sample(families, "outcomes_store_query_duration_seconds",
                   {{"query", "recommendations_full"}}),
            0.25);
  EXPECT_EQ(Sample(families, "outcomes_store_last_recount_timestamp_seconds"),
            FakeClock::kStartWall.count());
}

TEST_F(StoreCollectorTest, MatchesTheGoldenExposition) {
  Script(*store_, TwoModelVersions());
  store_->SetDuration("recommendations_full", 0.25);
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "store");
}

TEST_F(StoreCollectorTest, TheFirstCycleCountsInOneSnapshotAndLooksForGapsBelowTheTop) {
  Script(*store_, TwoModelVersions());
  ASSERT_TRUE(collector_.Collect().status.ok());
  // The cycle's snapshot, and the start-up plan check's on a session of its own.
  EXPECT_EQ(store_->snapshots(), 2);
  const auto gaps = store_->statements("recommendations_gaps");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].params, (std::vector<std::string>{"0", "30"}));
}

std::size_t FullCounts(const FakeStore& store) {
  return store.statements("recommendations_full").size() +
         store.statements("outcome_events_full").size() + store.statements("feedback_full").size();
}

TEST_F(StoreCollectorTest, TheFullRecountRunsOncePerReconcileInterval) {
  Script(*store_, TwoModelVersions());
  ASSERT_TRUE(collector_.Collect().status.ok());
  ASSERT_EQ(FullCounts(*store_), 3u);
  clock_.Advance(std::chrono::minutes(4) + std::chrono::seconds(59));
  ASSERT_TRUE(collector_.Collect().status.ok());
  EXPECT_EQ(FullCounts(*store_), 3u);  // incremental only
  clock_.Advance(std::chrono::seconds(1));
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(FullCounts(*store_), 6u);
  EXPECT_EQ(Sample(output.families, "outcomes_store_last_recount_timestamp_seconds"),
            FakeClock::kStartWall.count() + 300);
}

TEST_F(StoreCollectorTest, EmptyTablesAndNullCellsGiveZeroesAndEmptyLabels) {
  Tables tables;
  tables.recommendations_max = "1";
  tables.recommendations = {{std::nullopt, "", "", "1"}};
  Script(*store_, tables);
  store_->SetRows("feedback_max_id", {{std::nullopt}});  // max() of an empty table
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_recommendations_total",
                   {{"model_version", ""}, {"ab_test", ""}, {"variant", ""}}),
            1);
  const prometheus::MetricFamily* events = FindFamily(output.families, "outcomes_events_total");
  ASSERT_NE(events, nullptr);
  EXPECT_TRUE(events->metric.empty());
  EXPECT_EQ(FindFamily(output.families, "outcomes_store_last_event_timestamp_seconds"), nullptr);
  EXPECT_EQ(Sample(output.families, "outcomes_store_watermark_id", {{"table", "feedback"}}), 0);
}

TEST_F(StoreCollectorTest, AGarbledCountFailsTheCycleWithTheTable) {
  Tables tables = TwoModelVersions();
  tables.feedback = {{"v1", "SATISFACTION", "positive", "three", "14"}};
  Script(*store_, tables);
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: feedback: expected an integer, got \"three\"");
  EXPECT_EQ(Sample(output.families, "outcomes_store_up"), 0);
}

TEST_F(StoreCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastCounters) {
  Script(*store_, TwoModelVersions());
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(), "outcomes store: cannot connect to fake: connection refused");
  EXPECT_EQ(Sample(output.families, "outcomes_store_up"), 0);
  EXPECT_EQ(Sample(output.families, "outcomes_recommendations_total",
                   {{"model_version", "v1"}, {"ab_test", ""}, {"variant", ""}}),
            20);
}

TEST_F(StoreCollectorTest, StoreDownFromTheStartExportsOnlyUp) {
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_FALSE(output.status.ok());
  EXPECT_EQ(Sample(output.families, "outcomes_store_up"), 0);
  EXPECT_EQ(FindFamily(output.families, "outcomes_recommendations_total"), nullptr);
}

TEST_F(StoreCollectorTest, ACancelledCycleFailsAndKeepsTheLastCounters) {
  Script(*store_, TwoModelVersions());
  ASSERT_TRUE(collector_.Collect().status.ok());
  const CollectOutput output = CollectAndCancel(collector_, *store_, "outcome_events_max_id");
  EXPECT_EQ(output.status.message(),
            "outcomes store: query outcome_events_max_id: ERROR:  canceling statement due to user "
            "request");
  EXPECT_EQ(Sample(output.families, "outcomes_store_up"), 0);
  EXPECT_EQ(Sample(output.families, "outcomes_recommendations_total",
                   {{"model_version", "v1"}, {"ab_test", ""}, {"variant", ""}}),
            20);
  // The next cycle runs normally.
  EXPECT_TRUE(collector_.Collect().status.ok());
}

}  // namespace
}  // namespace outcomes::testing_support
