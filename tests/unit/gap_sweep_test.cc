// GapSweep: the missing-id ranges the store collector re-checks at a bounded pace.
#include <gtest/gtest.h>

#include "exporter/counting/sweep.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;

TEST(GapSweepTest, BatchesFollowIdOrderAndWrapAfterAPass) {
  GapSweep sweep;
  sweep.Add({{30, 31}, {10, 10}, {20, 22}});
  const std::vector<IdRange> first = sweep.NextBatch(2);
  EXPECT_EQ(first, (std::vector<IdRange>{{10, 10}, {20, 22}}));
  EXPECT_FALSE(sweep.Done(first, {}));
  EXPECT_DOUBLE_EQ(sweep.progress(), 2.0 / 3.0);
  const std::vector<IdRange> second = sweep.NextBatch(2);
  EXPECT_EQ(second, (std::vector<IdRange>{{30, 31}}));
  EXPECT_TRUE(sweep.Done(second, {}));
  EXPECT_EQ(sweep.NextBatch(1), (std::vector<IdRange>{{10, 10}}));
}

TEST(GapSweepTest, FoundIdsLeaveTheirRange) {
  GapSweep sweep;
  sweep.Add({{10, 14}});
  const std::vector<IdRange> batch = sweep.NextBatch(10);
  sweep.Done(batch, {10, 12});
  EXPECT_EQ(sweep.ranges(), 2u);
  EXPECT_EQ(sweep.ids(), 3);
  EXPECT_EQ(sweep.NextBatch(10), (std::vector<IdRange>{{11, 11}, {13, 14}}));
}

TEST(GapSweepTest, OverTheCapTheLowestIdsAreGivenUp) {
  GapSweep sweep;
  std::vector<IdRange> ranges;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(kMaxSweptRanges) + 2; ++i) {
    ranges.push_back({10 * i + 1, 10 * i + 3});
  }
  EXPECT_EQ(sweep.Add(ranges), 6);
  EXPECT_EQ(sweep.ranges(), kMaxSweptRanges);
  EXPECT_EQ(sweep.NextBatch(1), (std::vector<IdRange>{{21, 23}}));
}

TEST(GapSweepTest, PaceCoversThePassInOneReconcileIntervalWithinTheBound) {
  // 20 cycles per reconcile interval: 100 ranges need 5 per cycle.
  EXPECT_EQ(SweepBatchSize(100, 15s, 5min, 1000), 5u);
  EXPECT_EQ(SweepPeriod(100, 15s, 5min, 1000), 5min);
  EXPECT_EQ(SweepBatchSize(3, 15s, 5min, 1000), 1u);
  EXPECT_EQ(SweepPeriod(3, 15s, 5min, 1000), 45s);
}

TEST(GapSweepTest, TheBoundStretchesThePeriod) {
  EXPECT_EQ(SweepBatchSize(100'000, 15s, 5min, 1000), 1000u);
  EXPECT_EQ(SweepPeriod(100'000, 15s, 5min, 1000), 1500s);
}

}  // namespace
}  // namespace outcomes
