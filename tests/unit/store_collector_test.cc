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

// The rows of the three reference tables, as the first count reads them (one range each).
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
  store.SetRows("recommendations_start_rows", tables.recommendations);
  store.SetRows("outcome_events_start_rows", tables.events);
  store.SetRows("feedback_start_rows", tables.feedback);
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

// A table just over the minimal range width is one range, not a full one and a narrow rest.
TEST(StartupRangesTest, NoRangeIsNarrowerThanTheMinimumUnlessTheTableIs) {
  const std::vector<IdRange> ranges = StartupRanges(kStartupRangeIds + kStartupRangeIds / 5);
  ASSERT_EQ(ranges.size(), 1U);
  EXPECT_EQ(ranges[0].last, kStartupRangeIds + kStartupRangeIds / 5);
  EXPECT_EQ(StartupRanges(kStartupRangeIds / 2).size(), 1U);
  EXPECT_TRUE(StartupRanges(0).empty());
}

// A large table is split into at most kStartupRangesPerTable ranges, of equal width, covering
// every id once.
TEST(StartupRangesTest, ALargeTableGetsTheMostRangesOfEqualWidth) {
  const std::int64_t top = 10 * kStartupRangeIds + 7;
  const std::vector<IdRange> ranges = StartupRanges(top);
  ASSERT_EQ(ranges.size(), kStartupRangesPerTable);
  EXPECT_LE(ranges[0].first, 1);
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i].first, ranges[i - 1].last + 1);
    EXPECT_LE(ranges[i].last - ranges[i].first, ranges[1].last - ranges[1].first);
  }
  EXPECT_EQ(ranges.back().last, top);
}

// The events of a store with few recommendations are split by their own rows: 20M events that
// reference 1.5M recommendations are two ranges of the recommendations' ids, not one.
TEST(StartupRangesTest, ATableCountedThroughAnotherIsSplitByItsOwnRows) {
  const std::int64_t recommendations = kStartupRangeIds + kStartupRangeIds / 2;
  const std::vector<IdRange> ranges = StartupRanges(recommendations, 20 * kStartupRangeIds);
  ASSERT_EQ(ranges.size(), kStartupRangesPerTable);
  EXPECT_EQ(ranges.back().last, recommendations);
  EXPECT_EQ(StartupRanges(recommendations, kStartupRangeIds / 2).size(), 1U);
}

TEST_F(StoreCollectorTest, ExportsTheCountersOfTheReferenceTables) {
  Script(*store_, TwoModelVersions());
  store_->SetDuration("recommendations_max_id", 0.25);
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
                   {{"query", "recommendations_max_id"}}),
            0.25);
  EXPECT_EQ(Sample(families, "outcomes_store_last_recount_timestamp_seconds"),
            FakeClock::kStartWall.count());
}

TEST_F(StoreCollectorTest, MatchesTheGoldenExposition) {
  Script(*store_, TwoModelVersions());
  store_->SetDuration("recommendations_max_id", 0.25);
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "store");
}

TEST_F(StoreCollectorTest, TheFirstCountReadsGapsOnlyWhereIdsAreMissing) {
  Tables tables = TwoModelVersions();
  tables.recommendations_max = "32";  // 30 rows: two ids missing
  Script(*store_, tables);
  store_->SetRows("recommendations_start_gaps", {{"31", "32"}});
  store_->SetRows("recommendations_late_ids", {});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(
      Sample(output.families, "outcomes_store_pending_late_ids", {{"table", "recommendations"}}),
      2);
  const auto rows = store_->statements("recommendations_start_rows");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].params, (std::vector<std::string>{"-9223372036854775808", "32"}));
  const auto gaps = store_->statements("recommendations_start_gaps");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].params, (std::vector<std::string>{"0", "32"}));
  EXPECT_TRUE(store_->statements("outcome_events_start_gaps").empty());
}

// A store that cannot export its snapshot still gets an exact first count, on one connection,
// and the operator one warning with the store's error.
TEST_F(StoreCollectorTest, AFirstCountThatCouldNotShareItsSnapshotIsWarnedAbout) {
  Script(*store_, TwoModelVersions());
  store_->FailQuery("store_start_snapshot",
                    "ERROR:  cannot export a snapshot from a subtransaction");
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_recommendations_total",
                   {{"model_version", "v2"}, {"ab_test", "ab-1"}, {"variant", "B"}}),
            10);
  const std::string log = log_text_.str();
  EXPECT_NE(log.find("the store did not export a snapshot; the first count ran on one connection"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("cannot export a snapshot from a subtransaction"), std::string::npos) << log;
}

TEST_F(StoreCollectorTest, AFirstCountThatSharedItsSnapshotWarnsOfNothing) {
  Script(*store_, TwoModelVersions());
  store_->SetRows("store_start_snapshot", {{"00000003-0000001B-1"}});
  store_->SetRows("store_start_import", {});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(log_text_.str().find("did not export"), std::string::npos) << log_text_.str();
}

std::size_t FullCounts(const FakeStore& store) {
  return store.statements("recommendations_start_rows").size() +
         store.statements("outcome_events_start_rows").size() +
         store.statements("feedback_start_rows").size();
}

TEST_F(StoreCollectorTest, NoCycleAfterTheFirstReadsAWholeTable) {
  Script(*store_, TwoModelVersions());
  ASSERT_TRUE(collector_.Collect().status.ok());
  ASSERT_EQ(FullCounts(*store_), 3u);
  for (int cycle = 0; cycle < 3; ++cycle) {
    clock_.Advance(std::chrono::minutes(5));
    ASSERT_TRUE(collector_.Collect().status.ok());
  }
  EXPECT_EQ(FullCounts(*store_), 3u);
  EXPECT_TRUE(store_->statements("recommendations_sweep_ids").empty());  // nothing missing
}

TEST_F(StoreCollectorTest, TheSweepCountsAGapThatCommittedAfterTheWindow) {
  Tables tables = TwoModelVersions();
  tables.recommendations_max = "32";
  Script(*store_, tables);
  store_->SetRows("recommendations_start_gaps", {{"5", "6"}});
  store_->SetRows("recommendations_late_ids", {});
  ASSERT_TRUE(collector_.Collect().status.ok());
  clock_.Advance(std::chrono::minutes(11));  // the gap expires and goes to the sweep
  ASSERT_TRUE(collector_.Collect().status.ok());
  EXPECT_TRUE(store_->statements("recommendations_sweep_ids").empty());

  store_->SetRows("recommendations_sweep_ids", {{"6"}});
  store_->SetRows("recommendations_sweep_rows", {{"v1", "", "", "1"}});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto sweeps = store_->statements("recommendations_sweep_ids");
  ASSERT_EQ(sweeps.size(), 1u);
  EXPECT_EQ(sweeps[0].params, (std::vector<std::string>{"{5}", "{6}"}));
  EXPECT_EQ(store_->statements("recommendations_sweep_rows")[0].params,
            (std::vector<std::string>{"{6}"}));
  EXPECT_EQ(Sample(output.families, "outcomes_recommendations_total",
                   {{"model_version", "v1"}, {"ab_test", ""}, {"variant", ""}}),
            21);
  EXPECT_EQ(Sample(output.families, "outcomes_store_recount_corrections_total",
                   {{"table", "recommendations"}}),
            1);
  // Id 5 is still missing: it stays in the sweep, one range.
  EXPECT_EQ(Sample(output.families, "outcomes_store_sweep_ranges", {{"table", "recommendations"}}),
            1);
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
