#include "exporter/analytics/counter_ledger.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

using namespace std::chrono_literals;

const SteadyTime kStart{};

AggregateRow Row(const std::string& label, std::int64_t count, std::int64_t sum = 0) {
  return {{label}, {count, sum}};
}

CounterLedger Initialized(std::int64_t watermark, std::vector<AggregateRow> totals,
                          std::vector<IdRange> gaps = {}) {
  CounterLedger ledger({Merge::kSum, Merge::kSum});
  ledger.ApplyFullCount(totals, kStart, watermark, gaps);
  return ledger;
}

std::int64_t Count(const CounterLedger& ledger, const std::string& label) {
  const auto it = ledger.values().find({label});
  return it == ledger.values().end() ? 0 : it->second[0];
}

TEST(CounterLedgerTest, FirstFullCountSetsCountersAndWatermark) {
  const CounterLedger ledger = Initialized(10, {Row("a", 7, 70), Row("b", 3, 30)});
  EXPECT_TRUE(ledger.initialized());
  EXPECT_EQ(ledger.watermark(), 10);
  EXPECT_EQ(Count(ledger, "a"), 7);
  EXPECT_EQ(ledger.values().at({"a"})[1], 70);
  EXPECT_EQ(Count(ledger, "b"), 3);
}

TEST(CounterLedgerTest, IncrementAddsNewRowsAndAdvancesWatermark) {
  CounterLedger ledger = Initialized(10, {Row("a", 10)});
  ledger.ApplyIncrement({15, {}, {}, {Row("a", 3), Row("c", 2)}}, kStart);
  EXPECT_EQ(ledger.watermark(), 15);
  EXPECT_EQ(Count(ledger, "a"), 13);
  EXPECT_EQ(Count(ledger, "c"), 2);
}

TEST(CounterLedgerTest, LateCommitIsCountedOnceWhenItsGapIsFound) {
  CounterLedger ledger = Initialized(10, {Row("a", 10)});
  // Ids 11 and 13 are visible, 12 is still in flight.
  ledger.ApplyIncrement({13, {{12, 12}}, {}, {Row("a", 2)}}, kStart);
  EXPECT_EQ(ledger.pending_ids(), 1);
  EXPECT_EQ(Count(ledger, "a"), 12);
  // Id 12 commits: the next read finds it in the gap.
  ledger.ApplyIncrement({13, {}, {12}, {Row("a", 1)}}, kStart + 15s);
  EXPECT_EQ(Count(ledger, "a"), 13);
  EXPECT_EQ(ledger.pending_ids(), 0);
  // A full recount of the same store adds nothing: counted exactly once.
  const FullCountReport report = ledger.ApplyFullCount({Row("a", 13)}, kStart + 30s);
  EXPECT_EQ(report.rows_added, 0);
  EXPECT_EQ(Count(ledger, "a"), 13);
}

TEST(CounterLedgerTest, FoundIdSplitsItsGapRange) {
  CounterLedger ledger = Initialized(0, {});
  ledger.ApplyIncrement({10, {{2, 8}}, {}, {Row("a", 3)}}, kStart);
  ledger.ApplyIncrement({10, {}, {5}, {Row("a", 1)}}, kStart);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{2, 4}, {6, 8}}));
  ledger.ApplyIncrement({10, {}, {2, 8}, {Row("a", 2)}}, kStart);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{3, 4}, {6, 7}}));
  EXPECT_EQ(ledger.pending_ids(), 4);
}

TEST(CounterLedgerTest, ExpiredGapIsLeftToTheFullRecount) {
  CounterLedger ledger = Initialized(10, {Row("a", 10)});
  ledger.ApplyIncrement({12, {{11, 11}}, {}, {Row("a", 1)}}, kStart);
  EXPECT_EQ(ledger.ExpireGaps(kStart + 5min, 10min), 0);
  EXPECT_EQ(ledger.ExpireGaps(kStart + 11min, 10min), 1);
  EXPECT_TRUE(ledger.gaps().empty());
  // Id 11 commits after its gap expired: the recount adds it, once.
  FullCountReport report = ledger.ApplyFullCount({Row("a", 12)}, kStart + 12min);
  EXPECT_EQ(report.rows_added, 1);
  EXPECT_EQ(Count(ledger, "a"), 12);
  EXPECT_EQ(ledger.corrections(), 1);
  report = ledger.ApplyFullCount({Row("a", 12)}, kStart + 17min);
  EXPECT_EQ(report.rows_added, 0);
  EXPECT_EQ(Count(ledger, "a"), 12);
}

TEST(CounterLedgerTest, DeletedRowsNeverLowerCounters) {
  CounterLedger ledger = Initialized(10, {Row("a", 10), Row("b", 5)});
  // Retention deleted 4 rows of "a" and every row of "b".
  const FullCountReport report = ledger.ApplyFullCount({Row("a", 6)}, kStart + 5min);
  EXPECT_EQ(report.rows_deleted, 9);
  EXPECT_EQ(report.rows_added, 0);
  EXPECT_EQ(Count(ledger, "a"), 10);
  EXPECT_EQ(Count(ledger, "b"), 5);
}

TEST(CounterLedgerTest, RecountStillFindsMissedRowsAfterDeletions) {
  CounterLedger ledger = Initialized(10, {Row("a", 10)});
  ledger.ApplyFullCount({Row("a", 6)}, kStart + 5min);  // 4 deleted, remembered
  // Two increments-missed rows appear later: the recount must not hide them behind the
  // deleted ones.
  const FullCountReport report = ledger.ApplyFullCount({Row("a", 8)}, kStart + 10min);
  EXPECT_EQ(report.rows_added, 2);
  EXPECT_EQ(Count(ledger, "a"), 12);
}

TEST(CounterLedgerTest, MaxColumnsKeepTheLargestValue) {
  CounterLedger ledger({Merge::kSum, Merge::kMax});
  ledger.ApplyFullCount({{{"a"}, {2, 1000}}}, kStart, 2);
  ledger.ApplyIncrement({3, {}, {}, {{{"a"}, {1, 900}}}}, kStart);
  EXPECT_EQ(ledger.values().at({"a"}), (std::vector<std::int64_t>{3, 1000}));
  ledger.ApplyIncrement({4, {}, {}, {{{"a"}, {1, 2000}}}}, kStart);
  EXPECT_EQ(ledger.values().at({"a"}), (std::vector<std::int64_t>{4, 2000}));
}

TEST(CounterLedgerTest, IgnoresGapsOutsideTheNewRange) {
  CounterLedger ledger = Initialized(10, {});
  ledger.ApplyIncrement({12, {{5, 6}, {11, 11}, {13, 14}}, {}, {}}, kStart);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{11, 11}}));
}

TEST(CounterLedgerTest, LimitGapsDropsTheOldestRanges) {
  CounterLedger ledger = Initialized(0, {});
  ledger.ApplyIncrement({20, {{2, 3}, {5, 5}, {10, 12}}, {}, {}}, kStart);
  EXPECT_EQ(ledger.LimitGaps(2), 2);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{5, 5}, {10, 12}}));
}

TEST(CounterLedgerTest, InitialGapsBelowTheWatermarkAreTracked) {
  CounterLedger ledger = Initialized(100, {Row("a", 98)}, {{97, 98}});
  EXPECT_EQ(ledger.pending_ids(), 2);
  ledger.ApplyIncrement({100, {}, {98}, {Row("a", 1)}}, kStart);
  EXPECT_EQ(Count(ledger, "a"), 99);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{97, 97}}));
}

}  // namespace
}  // namespace outcomes
