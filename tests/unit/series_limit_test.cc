#include "exporter/metrics/series_limit.h"

#include <gtest/gtest.h>

#include <map>

#include "exporter/config/config.h"

namespace outcomes {
namespace {

using Series = std::map<SeriesLimit::LabelSet, int>;

const auto kValue = [](int value) { return value; };

Series Kept(const SeriesLimit& limit, const Series& series) {
  Series kept;
  limit.ForEachKept(series, [&kept](const SeriesLimit::LabelSet& labels, int value) {
    kept.emplace(labels, value);
  });
  return kept;
}

TEST(SeriesLimitTest, KeepsEverythingUnderTheLimit) {
  SeriesLimit limit(3);
  const Series series = {{{"a"}, 1}, {{"b"}, 2}, {{"c"}, 3}};
  limit.Update(series, kValue);
  EXPECT_EQ(Kept(limit, series), series);
  EXPECT_EQ(limit.dropped(), 0u);
}

TEST(SeriesLimitTest, KeepsTheLargestWithTiesInLabelOrder) {
  SeriesLimit limit(2);
  const Series series = {{{"a"}, 1}, {{"b"}, 5}, {{"c"}, 3}, {{"d"}, 3}};
  limit.Update(series, kValue);
  EXPECT_EQ(Kept(limit, series), (Series{{{"b"}, 5}, {{"c"}, 3}}));
  EXPECT_EQ(limit.dropped(), 2u);
}

TEST(SeriesLimitTest, KeptLabelSetsStayWhenLargerOnesAppear) {
  SeriesLimit limit(2);
  limit.Update(Series{{{"a"}, 1}, {{"b"}, 2}}, kValue);
  const Series grown = {{{"a"}, 2}, {{"b"}, 3}, {{"z"}, 100}};
  limit.Update(grown, kValue);
  EXPECT_EQ(Kept(limit, grown), (Series{{{"a"}, 2}, {{"b"}, 3}}));
  EXPECT_EQ(limit.dropped(), 1u);
}

TEST(SeriesLimitTest, RoomFreedByAVanishedLabelSetGoesToTheLargestWaiting) {
  SeriesLimit limit(2);
  limit.Update(Series{{{"a"}, 1}, {{"b"}, 2}, {{"c"}, 0}, {{"d"}, 0}}, kValue);
  const Series later = {{{"b"}, 2}, {{"c"}, 1}, {{"d"}, 7}};
  limit.Update(later, kValue);
  EXPECT_EQ(Kept(limit, later), (Series{{{"b"}, 2}, {{"d"}, 7}}));
  EXPECT_EQ(limit.dropped(), 1u);
}

TEST(StoreSeriesLimitConfigTest, DefaultsToTenThousand) {
  const auto config = LoadConfigText("store:\n  dsn: x\n", "test.yml", [](const std::string&) {
    return std::optional<std::string>();
  });
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().store->series_limit, 10'000);
}

TEST(StoreSeriesLimitConfigTest, RejectsZeroWithItsPosition) {
  const auto config =
      LoadConfigText("store:\n  dsn: x\n  series_limit: 0\n", "test.yml",
                     [](const std::string&) { return std::optional<std::string>(); });
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), "test.yml:3:17: store.series_limit: must be at least 1");
}

}  // namespace
}  // namespace outcomes
