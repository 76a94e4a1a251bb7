// The data-quality collector ("data_quality") against the fake store: nothing judged on the
// first cycle (the exporter starts at each table's top), then the new rows' delay histogram
// and checks; a row still in flight holds back the ids above it until it commits; a failing
// statement keeps the last counts.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/data_quality.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

DataQualityConfig ThreeBuckets() {
  DataQualityConfig config;
  config.delay_buckets = {60, 3600, 86400};
  return config;
}

// Each table's highest id, and no gap below it.
void ScriptTops(FakeStore& store, const std::string& recommendations, const std::string& events,
                const std::string& feedback) {
  store.SetRows("data_quality_recommendations_max_id", {{recommendations}});
  store.SetRows("data_quality_outcome_events_max_id", {{events}});
  store.SetRows("data_quality_feedback_max_id", {{feedback}});
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    store.SetRows(std::string("data_quality_") + table + "_gaps", {});
  }
}

std::optional<double> Issues(const std::vector<prometheus::MetricFamily>& families,
                             const std::string& table, const std::string& check) {
  return Sample(families, "outcomes_data_quality_issues_total",
                {{"table", table}, {"check", check}});
}

class DataQualityCollectorTest : public ::testing::Test {
 protected:
  // A second cycle after a first at tops 100, 200, 10: ten recommendations (one score out of
  // range), five events, two feedback rows (one without any outcome).
  // data_quality_outcome_events rows: model_version, status, bucket, count, delay sum (ms),
  // returned without purchase, purchased without acceptance, duplicate status, before the
  // recommendation.
  void ScriptTwoCycles() {
    ScriptTops(*store_, "100", "200", "10");
    ASSERT_TRUE(collector_.Collect().status.ok());
    ScriptTops(*store_, "110", "205", "12");
    store_->SetRows("data_quality_recommendations", {{"10", "1"}});
    store_->SetRows("data_quality_outcome_events",
                    {{"v1", "ACCEPTED", "0", "2", "30000", "0", "0", "1", "1"},
                     {"v1", "PURCHASED", "2", "2", "100000000", "0", "1", "0", "0"},
                     {"v2", "RETURNED", "3", "1", "200000000", "1", "0", "0", "0"}});
    store_->SetRows("data_quality_feedback", {{"2", "1"}});
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  DataQualityCollector collector_{StoreConfig{}, ThreeBuckets(), store_->Deps(log_)};
};

TEST_F(DataQualityCollectorTest, TheFirstCycleStartsAtEachTablesTopAndJudgesNothing) {
  ScriptTops(*store_, "100", "200", "10");
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_TRUE(store_->statements("data_quality_outcome_events").empty());
  EXPECT_TRUE(store_->statements("data_quality_recommendations").empty());
  EXPECT_EQ(FindFamily(output.families, "outcomes_event_delay_seconds"), nullptr);
  EXPECT_EQ(
      Sample(output.families, "outcomes_data_quality_checked_total", {{"table", "outcome_events"}}),
      0);
  EXPECT_EQ(Issues(output.families, "outcome_events", "duplicate_status"), 0);
  EXPECT_EQ(Sample(output.families, "outcomes_data_quality_checked_up_to_id",
                   {{"table", "outcome_events"}}),
            200);
}

TEST_F(DataQualityCollectorTest, CountsTheChecksAndDelaysOfTheNewRows) {
  ScriptTwoCycles();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("data_quality_outcome_events").at(0).params,
            (std::vector<std::string>{"200", "205", "{60,3600,86400}"}));
  EXPECT_EQ(store_->statements("data_quality_recommendations").at(0).params,
            (std::vector<std::string>{"100", "110"}));
  const auto& families = output.families;
  EXPECT_EQ(Sample(families, "outcomes_data_quality_checked_total", {{"table", "outcome_events"}}),
            5);
  EXPECT_EQ(Issues(families, "outcome_events", "returned_without_purchase"), 1);
  EXPECT_EQ(Issues(families, "outcome_events", "purchased_without_acceptance"), 1);
  EXPECT_EQ(Issues(families, "outcome_events", "duplicate_status"), 1);
  EXPECT_EQ(Issues(families, "outcome_events", "before_recommendation"), 1);
  EXPECT_EQ(Issues(families, "recommendations", "score_out_of_range"), 1);
  EXPECT_EQ(Issues(families, "feedback", "feedback_without_outcome"), 1);
}

TEST_F(DataQualityCollectorTest, MatchesTheGoldenExposition) {
  ScriptTwoCycles();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "data_quality");
}

TEST_F(DataQualityCollectorTest, ARowInFlightHoldsBackTheIdsAboveItUntilItCommits) {
  ScriptTops(*store_, "100", "200", "10");
  ASSERT_TRUE(collector_.Collect().status.ok());
  // Events 201..205 of which 203 is not visible yet: only 201 and 202 are judged.
  ScriptTops(*store_, "100", "205", "10");
  store_->SetRows("data_quality_outcome_events_gaps", {{"203", "203"}});
  store_->SetRows("data_quality_outcome_events",
                  {{"v1", "ACCEPTED", "0", "2", "0", "0", "0", "0", "0"}});
  CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("data_quality_outcome_events").at(0).params[1], "202");
  EXPECT_EQ(Sample(output.families, "outcomes_data_quality_checked_up_to_id",
                   {{"table", "outcome_events"}}),
            202);
  // 203 commits: the next cycle finds it in its gap and judges (202, 205].
  store_->SetRows("data_quality_outcome_events_gaps", {});
  store_->SetRows("data_quality_outcome_events_late_ids", {{"203"}});
  store_->SetRows("data_quality_outcome_events",
                  {{"v1", "PURCHASED", "1", "3", "0", "0", "0", "0", "0"}});
  output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto judged = store_->statements("data_quality_outcome_events");
  ASSERT_EQ(judged.size(), 2u);
  EXPECT_EQ(judged[1].params[0], "202");
  EXPECT_EQ(judged[1].params[1], "205");
  EXPECT_EQ(
      Sample(output.families, "outcomes_data_quality_checked_total", {{"table", "outcome_events"}}),
      5);
}

TEST_F(DataQualityCollectorTest, AFailingStatementKeepsTheLastCountsAndJudgesTheRowsLater) {
  ScriptTwoCycles();
  store_->FailQuery("data_quality_feedback",
                    "ERROR:  canceling statement due to statement timeout");
  const CollectOutput failed = collector_.Collect();
  EXPECT_EQ(failed.status.message(),
            "outcomes store: query data_quality_feedback: ERROR:  canceling statement due to "
            "statement timeout");
  EXPECT_EQ(
      Sample(failed.families, "outcomes_data_quality_checked_total", {{"table", "outcome_events"}}),
      0);
  store_->ClearFailure("data_quality_feedback");
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // The same ranges again, counted once.
  EXPECT_EQ(store_->statements("data_quality_outcome_events").back().params[0], "200");
  EXPECT_EQ(
      Sample(output.families, "outcomes_data_quality_checked_total", {{"table", "outcome_events"}}),
      5);
}

TEST_F(DataQualityCollectorTest, ATableBackBelowItsWatermarkIsJudgedFromItsNewTopOn) {
  ScriptTops(*store_, "100", "200", "10");
  ASSERT_TRUE(collector_.Collect().status.ok());
  // An older backup restored: outcome_events ends at 150 now.
  ScriptTops(*store_, "100", "150", "10");
  CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_TRUE(store_->statements("data_quality_outcome_events").empty());
  EXPECT_NE(log_text_.str().find("a table went back below the ids read"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "outcomes_data_quality_checked_up_to_id",
                   {{"table", "outcome_events"}}),
            150);
  ScriptTops(*store_, "100", "152", "10");
  store_->SetRows("data_quality_outcome_events",
                  {{"v1", "ACCEPTED", "0", "2", "0", "0", "0", "0", "0"}});
  output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(store_->statements("data_quality_outcome_events").at(0).params[0], "150");
  EXPECT_EQ(
      Sample(output.families, "outcomes_data_quality_checked_total", {{"table", "outcome_events"}}),
      2);
}

TEST_F(DataQualityCollectorTest, ABucketOutsideTheBoundsFailsTheCycle) {
  ScriptTwoCycles();
  store_->SetRows("data_quality_outcome_events",
                  {{"v1", "ACCEPTED", "4", "1", "0", "0", "0", "0", "0"}});
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: data_quality_outcome_events: bucket out of range");
}

}  // namespace
}  // namespace outcomes::testing_support
