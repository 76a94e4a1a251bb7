// The store collector's first count (ParallelCount) against the fake store: every session
// reads the one snapshot the first exported, the tables that join their recommendation are
// split by the recommendations' ids, and a store that cannot export counts in one session.
#include "exporter/collectors/store_startup.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "exporter/collectors/store.h"
#include "tests/support/fake_store_session.h"

namespace outcomes::testing_support {
namespace {

constexpr const char* kSnapshotId = "00000003-0000001B-1";
// Large enough for two ranges per table.
const std::int64_t kRecommendationsTop = 4 * kStartupRangeIds + 2;
const std::int64_t kEventsTop = 10 * kStartupRangeIds;

void ScriptLargeTables(FakeStore& store) {
  store.SetRows("recommendations_max_id", {{std::to_string(kRecommendationsTop)}});
  store.SetRows("outcome_events_max_id", {{std::to_string(kEventsTop)}});
  store.SetRows("feedback_max_id", {{"0"}});  // empty: nothing to count
  store.SetRows("recommendations_start_rows", {{"v1", "", "", "10"}});
  store.SetRows("outcome_events_start_rows",
                {{"v1", "", "", "PURCHASED", "", "7", "700", "1764547200000"}});
  // The counts hold far fewer rows than ids: every range's gaps are read.
  store.SetRows("recommendations_start_gaps", {{"11", "20"}});
  store.SetRows("outcome_events_start_gaps", {});
  store.SetRows("store_start_import", {});
}

std::vector<std::vector<std::string>> ParamsOf(const FakeStore& store, const std::string& name) {
  std::vector<std::vector<std::string>> params;
  for (const RecordedStatement& statement : store.statements(name)) {
    params.push_back(statement.params);
  }
  std::sort(params.begin(), params.end(),
            [](const auto& a, const auto& b) { return std::stoll(a.at(1)) < std::stoll(b.at(1)); });
  return params;
}

std::vector<std::vector<std::string>> ParamsOfRanges(const std::vector<IdRange>& ranges,
                                                     std::int64_t from_floor) {
  std::vector<std::vector<std::string>> params;
  for (const IdRange& range : ranges) {
    params.push_back(
        {std::to_string(std::max(range.first - 1, from_floor)), std::to_string(range.last)});
  }
  return params;
}

TEST(SnapshotIdTest, AcceptsWhatPgExportSnapshotReturnsOnly) {
  EXPECT_TRUE(IsSnapshotId(kSnapshotId));
  EXPECT_FALSE(IsSnapshotId(""));
  EXPECT_FALSE(IsSnapshotId("0000-1'; DROP TABLE feedback; --"));
}

// Each helper's first statement imports the leader's snapshot, so that the counts of all
// ranges and the gaps read beside them see one state of the store.
TEST(ParallelCountTest, EverySessionReadsTheSnapshotTheFirstExported) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  ScriptLargeTables(*store);
  store->SetRows("store_start_snapshot", {{kSnapshotId}});
  ParallelCount count(store->SessionFactory(), SessionOptions{});
  Result<std::vector<TableCount>> counts = count.Run(ReferenceTables());
  ASSERT_TRUE(counts.ok()) << counts.status().message();

  const std::vector<RecordedStatement> statements = store->statements();
  std::map<int, std::vector<std::string>> by_snapshot;
  for (const RecordedStatement& statement : statements) {
    by_snapshot[statement.snapshot].push_back(statement.name);
  }
  ASSERT_EQ(store->statements("store_start_snapshot").size(), 1U);
  const int leader = store->statements("store_start_snapshot")[0].snapshot;
  std::size_t helpers = 0;
  for (const auto& [snapshot, names] : by_snapshot) {
    if (snapshot == leader) continue;
    ++helpers;
    EXPECT_EQ(names.front(), "store_start_import") << "snapshot " << snapshot;
  }
  EXPECT_EQ(helpers, kStartupSessions - 1);
  for (const RecordedStatement& statement : store->statements("store_start_import")) {
    EXPECT_EQ(statement.sql, std::string("SET TRANSACTION SNAPSHOT '") + kSnapshotId + "'");
  }
  // The tops are read once, by the leader, before it exports.
  for (const char* name : {"recommendations_max_id", "outcome_events_max_id", "feedback_max_id"}) {
    ASSERT_EQ(store->statements(name).size(), 1U) << name;
    EXPECT_EQ(store->statements(name)[0].snapshot, leader) << name;
  }
  ASSERT_EQ(counts.value().size(), 3U);
  EXPECT_EQ(counts.value()[0].watermark, kRecommendationsTop);
  EXPECT_EQ(counts.value()[1].watermark, kEventsTop);
  EXPECT_EQ(counts.value()[0].totals.size(), kStartupRangesPerTable);
  EXPECT_EQ(counts.value()[0].gaps.size(), kStartupRangesPerTable);  // one per gap read
}

// The events join their recommendation: their ranges are the recommendations' ids, bounded on
// both sides of the join, while the recommendations and the gaps follow each table's own ids.
TEST(ParallelCountTest, TablesThatJoinTheirRecommendationAreSplitByItsIds) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  ScriptLargeTables(*store);
  store->SetRows("store_start_snapshot", {{kSnapshotId}});
  ParallelCount count(store->SessionFactory(), SessionOptions{});
  ASSERT_TRUE(count.Run(ReferenceTables()).ok());

  const std::vector<IdRange> recommendation_ranges = StartupRanges(kRecommendationsTop);
  const auto min = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(ParamsOf(*store, "outcome_events_start_rows"),
            ParamsOfRanges(recommendation_ranges, min));
  EXPECT_EQ(ParamsOf(*store, "recommendations_start_rows"),
            ParamsOfRanges(recommendation_ranges, min));
  EXPECT_EQ(ParamsOf(*store, "outcome_events_start_gaps"),
            ParamsOfRanges(StartupRanges(kEventsTop), 0));
  const std::string sql = store->statements("outcome_events_start_rows").at(0).sql;
  EXPECT_NE(sql.find("e.\"recommendation_id\" > $1::bigint AND e.\"recommendation_id\" <= "
                     "$2::bigint AND r.\"id\" > $1::bigint AND r.\"id\" <= $2::bigint"),
            std::string::npos)
      << sql;
  EXPECT_TRUE(store->statements("feedback_start_rows").empty());  // the empty table
}

// Feedback with fewer rows than recommendations is split as the recommendations are: each range
// reads its part of both tables, and one range over all of them would be planned as a hash
// join of the whole tables instead.
TEST(ParallelCountTest, ATableIsSplitByTheLargerOfItAndTheTableItReferences) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  ScriptLargeTables(*store);
  store->SetRows("feedback_max_id", {{std::to_string(kStartupRangeIds + 1)}});
  store->SetRows("feedback_start_rows", {{"v1", "SATISFACTION", "positive", "3", "14"}});
  store->SetRows("feedback_start_gaps", {});
  store->SetRows("store_start_snapshot", {{kSnapshotId}});
  ParallelCount count(store->SessionFactory(), SessionOptions{});
  ASSERT_TRUE(count.Run(ReferenceTables()).ok());
  EXPECT_EQ(
      ParamsOf(*store, "feedback_start_rows"),
      ParamsOfRanges(StartupRanges(kRecommendationsTop), std::numeric_limits<std::int64_t>::min()));
}

// A store that refuses pg_export_snapshot() (its transaction is then aborted) is counted again
// in one fresh snapshot of one session, every range of it.
TEST(ParallelCountTest, AStoreThatCannotExportASnapshotIsCountedInOneSession) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  ScriptLargeTables(*store);
  store->FailQuery("store_start_snapshot", "ERROR:  cannot export a snapshot here");
  ParallelCount count(store->SessionFactory(), SessionOptions{});
  Result<std::vector<TableCount>> counts = count.Run(ReferenceTables());
  ASSERT_TRUE(counts.ok()) << counts.status().message();

  EXPECT_TRUE(store->statements("store_start_import").empty());
  std::set<int> counting;
  for (const char* name : {"recommendations_start_rows", "outcome_events_start_rows",
                           "recommendations_start_gaps", "outcome_events_start_gaps"}) {
    for (const RecordedStatement& statement : store->statements(name)) {
      counting.insert(statement.snapshot);
    }
  }
  EXPECT_EQ(counting.size(), 1U);
  EXPECT_EQ(store->statements("outcome_events_start_rows").size(),
            StartupRanges(kRecommendationsTop).size());
  EXPECT_EQ(counts.value()[1].totals.size(), StartupRanges(kRecommendationsTop).size());
}

// Events whose recommendations are not visible (none is, here) are still counted over every
// recommendation id from the lowest (they may reference ids below 1), and their ids are read
// for gaps, so that one still being written is counted when it commits.
TEST(ParallelCountTest, RowsWithNothingTheyReferenceStillHaveTheirGapsRead) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  store->SetRows("recommendations_max_id", {{"0"}});
  store->SetRows("outcome_events_max_id", {{"5"}});
  store->SetRows("feedback_max_id", {{"0"}});
  store->SetRows("outcome_events_start_rows", {});
  store->SetRows("outcome_events_start_gaps", {{"4", "5"}});
  store->SetRows("store_start_snapshot", {{kSnapshotId}});
  store->SetRows("store_start_import", {});
  ParallelCount count(store->SessionFactory(), SessionOptions{});
  Result<std::vector<TableCount>> counts = count.Run(ReferenceTables());
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  EXPECT_EQ(ParamsOf(*store, "outcome_events_start_rows"),
            (std::vector<std::vector<std::string>>{{"-9223372036854775808", "1"}}));
  EXPECT_EQ(ParamsOf(*store, "outcome_events_start_gaps"),
            (std::vector<std::vector<std::string>>{{"0", "5"}}));
  EXPECT_EQ(counts.value()[1].gaps, (std::vector<IdRange>{{4, 5}}));
}

// A range that fails fails the whole count, with the statement's own error.
TEST(ParallelCountTest, ARangeThatFailsFailsTheCount) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  ScriptLargeTables(*store);
  store->SetRows("store_start_snapshot", {{kSnapshotId}});
  store->FailQuery("outcome_events_start_rows", "ERROR:  canceling statement due to timeout");
  ParallelCount count(store->SessionFactory(), SessionOptions{});
  Result<std::vector<TableCount>> counts = count.Run(ReferenceTables());
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().message().find("outcome_events_start_rows"), std::string::npos)
      << counts.status().message();
}

}  // namespace
}  // namespace outcomes::testing_support
