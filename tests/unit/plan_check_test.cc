// Reading EXPLAIN (FORMAT JSON) plans for whole-table reads (exporter/store/plan_check.h).
#include "exporter/store/plan_check.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

std::optional<WholeTableRead> Find(const std::string& plan) {
  Result<std::optional<WholeTableRead>> found = FindWholeTableRead("[{\"Plan\": " + plan + "}]");
  EXPECT_TRUE(found.ok()) << found.error();
  return found.ok() ? found.value() : std::nullopt;
}

TEST(PlanCheckTest, SequentialScanUnderAJoinNamesTheIndexOfTheJoinColumn) {
  const auto found = Find(R"json({"Node Type": "Hash Join",
      "Hash Cond": "(e.recommendation_id = c.id)",
      "Plans": [{"Node Type": "Seq Scan", "Relation Name": "outcome_events", "Alias": "e"},
                {"Node Type": "Hash", "Plans": [{"Node Type": "CTE Scan"}]}]})json");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->table, "outcome_events");
  EXPECT_EQ(found->node, "Seq Scan on outcome_events");
  EXPECT_EQ(found->index, "outcome_events_recommendation_id_idx");
}

TEST(PlanCheckTest, IndexScanWithAConditionOnItsFirstColumnIsFine) {
  EXPECT_FALSE(Find(R"json({"Node Type": "Index Scan", "Relation Name": "recommendations",
      "Index Name": "recommendations_pkey", "Index Cond": "(id = ANY ('{1,2}'::bigint[]))"})json"));
}

TEST(PlanCheckTest, IndexWalkUnderALimitIsFine) {
  EXPECT_FALSE(Find(R"json({"Node Type": "Limit", "Plans": [{"Node Type": "Index Only Scan",
      "Relation Name": "recommendations",
      "Index Name": "recommendations_model_version_created_at_idx"}]})json"));
}

TEST(PlanCheckTest, IndexReadByALaterColumnNamesTheIndexThatStartsWithIt) {
  const auto found =
      Find(R"json({"Node Type": "Bitmap Heap Scan", "Relation Name": "recommendations",
      "Recheck Cond": "(created_at >= now())",
      "Plans": [{"Node Type": "Bitmap Index Scan",
                 "Index Name": "recommendations_model_version_created_at_idx",
                 "Index Cond": "(created_at >= now())"}]
})json");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->index, "recommendations_created_at_idx");
}

TEST(PlanCheckTest, SortedSequentialScanNamesTheIndexOfTheOrder) {
  const auto found =
      Find(R"json({"Node Type": "Sort", "Sort Key": ["recommendations.model_version"],
      "Plans": [{"Node Type": "Seq Scan", "Relation Name": "recommendations"}]})json");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->index, "recommendations_model_version_created_at_idx");
}

TEST(PlanCheckTest, SmallTablesAreNotWatched) {
  EXPECT_FALSE(Find(R"json({"Node Type": "Seq Scan", "Relation Name": "ab_tests"})json"));
}

TEST(PlanCheckTest, NoShippedIndexFitsLeavesTheIndexEmpty) {
  const auto found = Find(
      R"json({"Node Type": "Seq Scan", "Relation Name": "feedback", "Filter": "(comment ~~ 'x%')"})json");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->index, "");
}

TEST(PlanCheckTest, MappedStoreIsWatchedByItsOwnNames) {
  StoreSchema schema;
  schema.tables.at("recommendations").schema = "shop";
  schema.tables.at("recommendations").name = "recs";
  schema.tables.at("recommendations").columns.at("model_version") = "model";
  const std::vector<ShippedIndex> watched = WatchedIndexes(schema);
  const std::string plan = R"json([{"Plan": {"Node Type": "Sort", "Sort Key": ["recs.model"],
      "Plans": [{"Node Type": "Seq Scan", "Relation Name": "recs"}]}}])json";
  Result<std::optional<WholeTableRead>> found = FindWholeTableRead(plan, watched);
  ASSERT_TRUE(found.ok()) << found.error();
  ASSERT_TRUE(found.value());
  EXPECT_EQ(found.value()->node, "Seq Scan on recs");
  EXPECT_EQ(found.value()->index, "recommendations_model_version_created_at_idx");
}

TEST(PlanCheckTest, MappedStoreDoesNotWatchTheReferenceNames) {
  StoreSchema schema;
  schema.tables.at("feedback").name = "ratings";
  Result<std::optional<WholeTableRead>> found = FindWholeTableRead(
      R"json([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "feedback"}}])json",
      WatchedIndexes(schema));
  ASSERT_TRUE(found.ok()) << found.error();
  EXPECT_FALSE(found.value());
}

TEST(PlanCheckTest, RejectsOutputThatIsNotAPlan) {
  EXPECT_FALSE(FindWholeTableRead("not json").ok());
  EXPECT_FALSE(FindWholeTableRead("[]").ok());
}

}  // namespace
}  // namespace outcomes
