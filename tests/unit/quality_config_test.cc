// `analytics.data_quality` and `store_health`: their defaults, what they accept, and one
// file:line:column error per mistake.
#include <gtest/gtest.h>

#include "exporter/config/config.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;

Result<Config> Load(const std::string& yaml) {
  return LoadConfigText(yaml, "test.yml",
                        [](const std::string&) -> std::optional<std::string> { return "2m"; });
}

constexpr const char* kStore = "store:\n  dsn: postgresql://u@h/db\n";

TEST(QualityConfigTest, DataQualityIsOffUntilItsSectionIsThereAndStoreHealthIsOn) {
  const auto config = Load(kStore);
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_FALSE(config.value().analytics.has_value());
  EXPECT_EQ(config.value().store_health, StoreHealthConfig{});
  EXPECT_TRUE(config.value().store_health.enabled);
  EXPECT_EQ(config.value().store_health.interval, 1min);
}

TEST(QualityConfigTest, AnEmptyDataQualitySectionTakesTheDefaults) {
  const auto config = Load(std::string(kStore) + "analytics:\n  data_quality: {}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  const DataQualityConfig& quality = *config.value().analytics->data_quality;
  EXPECT_EQ(quality, DataQualityConfig{});
  EXPECT_EQ(quality.interval, 1min);
  EXPECT_EQ(quality.delay_buckets.front(), 60);
  EXPECT_EQ(quality.delay_buckets.back(), 30 * 86400);
}

TEST(QualityConfigTest, ReadsEveryKey) {
  const auto config = Load(std::string(kStore) +
                           "analytics:\n"
                           "  data_quality:\n"
                           "    interval: 30s\n"
                           "    timeout: ${TIMEOUT}\n"
                           "    delay_buckets: [60, 3600.5, 86400]\n"
                           "store_health: {enabled: false, interval: 5m, timeout: 10s}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  const DataQualityConfig& quality = *config.value().analytics->data_quality;
  EXPECT_EQ(quality.interval, 30s);
  EXPECT_EQ(quality.timeout, 2min);
  EXPECT_EQ(quality.delay_buckets, (std::vector<double>{60, 3600.5, 86400}));
  EXPECT_FALSE(config.value().store_health.enabled);
  EXPECT_EQ(config.value().store_health.interval, 5min);
  EXPECT_EQ(config.value().store_health.timeout, 10s);
}

TEST(QualityConfigTest, EachMistakeIsOneErrorWithItsPlace) {
  const auto config = Load(std::string(kStore) +
                           "analytics:\n"
                           "  data_quality:\n"
                           "    interval: 0s\n"
                           "    delay_buckets: [60, 30]\n"
                           "    bucket: [1]\n"
                           "store_health:\n"
                           "  enabled: yes\n"
                           "  timeout: soon\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:5:15: analytics.data_quality.interval: must be greater than 0\n"
            "test.yml:6:25: analytics.data_quality.delay_buckets: must be strictly ascending\n"
            "test.yml:7:5: analytics.data_quality.bucket: unknown key\n"
            "test.yml:9:12: store_health.enabled: expected true or false\n"
            "test.yml:10:12: store_health.timeout: invalid duration \"soon\": expected a number "
            "followed by a unit (ms, s, m, h, d, w, y)");
}

TEST(QualityConfigTest, BucketsMustBePositiveNumbers) {
  const auto config =
      Load(std::string(kStore) + "analytics:\n  data_quality: {delay_buckets: [0, 60]}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:34: analytics.data_quality.delay_buckets: expected a number of seconds "
            "greater than 0 (the +Inf bucket is always there)");
}

TEST(QualityConfigTest, StoreHealthNeedsAStore) {
  const auto config = Load("store_health: {interval: 1m}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), "test.yml:1:15: store_health: needs a store section");
}

}  // namespace
}  // namespace outcomes
