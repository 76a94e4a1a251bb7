// The thresholds collector ("thresholds") as the scheduler runs it: it reads nothing, so
// every cycle succeeds with the configuration's families (their values: thresholds_test.cc).
#include <gtest/gtest.h>

#include "exporter/collectors/thresholds.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

TEST(ThresholdsCollectorTest, EveryCycleSucceedsWithTheConfiguredFamilies) {
  Config config;
  config.retraining.model_versions["v7"].training_data_end = 1764547200;
  const auto collector = MakeThresholdsCollector(config);
  EXPECT_EQ(collector->name(), "thresholds");
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Serialize(output.families),
            Serialize(ThresholdsCollector::Families(config.retraining)));
  EXPECT_EQ(Sample(output.families, "outcomes_model_version_training_end_timestamp_seconds",
                   {{"model_version", "v7"}}),
            1764547200);
}

// The shipped defaults, plus one model version's override and training end.
TEST(ThresholdsCollectorTest, MatchesTheGoldenExposition) {
  Config config;
  config.retraining.model_versions["v7"].triggers["HIGH_RETURN_RATE"].thresholds["MEDIUM"] = 0.25;
  config.retraining.model_versions["v7"].training_data_end = 1764547200;
  const CollectOutput output = MakeThresholdsCollector(config)->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "thresholds");
}

TEST(ThresholdsCollectorTest, NoTriggersExportNoFamily) {
  RetrainingConfig retraining;
  retraining.triggers.clear();
  ThresholdsCollector collector(retraining);
  const CollectOutput output = collector.Collect();
  EXPECT_TRUE(output.status.ok());
  EXPECT_TRUE(output.families.empty());
}

TEST(ThresholdsCollectorTest, AReloadKeepsTheCollectorOnlyForTheSameRetrainingSection) {
  RetrainingConfig changed;
  changed.triggers["PERFORMANCE_DROP"].thresholds["MEDIUM"] = 0.2;
  EXPECT_TRUE(ThresholdsCollector(RetrainingConfig{}).SameConfig(ThresholdsCollector({})));
  EXPECT_FALSE(ThresholdsCollector(RetrainingConfig{}).SameConfig(ThresholdsCollector(changed)));
}

}  // namespace
}  // namespace outcomes::testing_support
