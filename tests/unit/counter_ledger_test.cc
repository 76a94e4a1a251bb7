#include "exporter/counting/counter_ledger.h"

#include <gtest/gtest.h>

#include <limits>

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

// Regression: after setval() far ahead, the gap up to the new ids was tracked id by id and
// outcomes_store_pending_late_ids read 9.2e18.
TEST(CounterLedgerTest, SequenceJumpTracksOnlyTheIdsTakenBeforeIt) {
  CounterLedger ledger = Initialized(10, {Row("a", 10)});
  const std::int64_t top = std::numeric_limits<std::int64_t>::max();
  const std::int64_t skipped =
      ledger.ApplyIncrement({top, {{11, top - 1}}, {}, {Row("a", 1)}}, kStart);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{11, 10 + kMinTrackedGapIds}}));
  EXPECT_EQ(ledger.pending_ids(), kMinTrackedGapIds);
  EXPECT_EQ(skipped, top - 11 - kMinTrackedGapIds);
  // A transaction that took id 12 before the jump commits: still counted, once.
  ledger.ApplyIncrement({top, {}, {12}, {Row("a", 1)}}, kStart + 1s);
  EXPECT_EQ(Count(ledger, "a"), 12);
  EXPECT_EQ(ledger.pending_ids(), kMinTrackedGapIds - 1);
}

TEST(CounterLedgerTest, GapsAsWideAsTheIdsOfOneWindowAreTrackedWhole) {
  CounterLedger ledger = Initialized(0, {});
  // 300,000 ids handed out within the window: a gap that wide may be transactions in flight.
  ledger.ApplyIncrement({300'000, {}, {}, {Row("a", 300'000)}}, kStart);
  EXPECT_EQ(ledger.ApplyIncrement({600'001, {{300'001, 600'000}}, {}, {Row("a", 1)}}, kStart + 1s),
            0);
  EXPECT_EQ(ledger.pending_ids(), 300'000);
  // Once those ids are older than the window, the same width is a jump again.
  ledger.ExpireGaps(kStart + 11min, 10min);
  EXPECT_EQ(ledger.ApplyIncrement({900'002, {{600'002, 900'001}}, {}, {}}, kStart + 11min),
            300'000 - kMinTrackedGapIds);
  EXPECT_EQ(ledger.pending_ids(), kMinTrackedGapIds);
}

// An older backup restored: the ledger starts over from what the store holds, counters keep
// their values and every row written afterwards is counted.
TEST(CounterLedgerTest, RebaseKeepsCountersAndCountsWhatComesAfter) {
  CounterLedger ledger = Initialized(100, {Row("a", 60, 600), Row("b", 40, 400)});
  // The backup held ids up to 70: 50 rows of "a", 20 of "b".
  const FullCountReport report =
      ledger.Rebase({Row("a", 50, 500), Row("b", 20, 200)}, kStart + 1min, 70, {{69, 69}});
  EXPECT_TRUE(report.rebased);
  EXPECT_EQ(report.old_watermark, 100);
  EXPECT_EQ(report.rows_deleted, 30);
  EXPECT_EQ(ledger.watermark(), 70);
  EXPECT_EQ(ledger.gaps(), (std::vector<IdRange>{{69, 69}}));
  EXPECT_EQ(Count(ledger, "a"), 60);
  EXPECT_EQ(Count(ledger, "b"), 40);
  // Writers go on from id 71.
  ledger.ApplyIncrement({75, {}, {}, {Row("a", 3, 30), Row("c", 2, 20)}}, kStart + 2min);
  EXPECT_EQ(Count(ledger, "a"), 63);
  EXPECT_EQ(ledger.values().at({"a"})[1], 630);
  EXPECT_EQ(Count(ledger, "c"), 2);
  // The next recount books nothing as deleted or missed.
  const FullCountReport recount =
      ledger.ApplyFullCount({Row("a", 53, 530), Row("b", 20, 200), Row("c", 2, 20)}, kStart + 6min);
  EXPECT_EQ(recount.rows_added, 0);
  EXPECT_EQ(recount.rows_deleted, 0);
  EXPECT_EQ(Count(ledger, "a"), 63);
}

TEST(CounterLedgerTest, RebaseAddsLabelSetsTheStoreHoldsMoreOf) {
  CounterLedger ledger = Initialized(10, {Row("a", 10)});
  const FullCountReport report = ledger.Rebase({Row("a", 4), Row("new", 3)}, kStart, 7, {});
  EXPECT_EQ(report.rows_added, 3);
  EXPECT_EQ(report.rows_deleted, 6);
  EXPECT_EQ(Count(ledger, "a"), 10);
  EXPECT_EQ(Count(ledger, "new"), 3);
}

}  // namespace
}  // namespace outcomes
