// The `retraining` configuration and the thresholds collector's gauges.
#include "exporter/collectors/thresholds.h"

#include <gtest/gtest.h>

#include <optional>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

Result<Config> Load(const std::string& yaml) {
  return LoadConfigText(yaml, "test.yml",
                        [](const std::string&) { return std::optional<std::string>(); });
}

// The value of the sample of `name` whose labels are exactly `labels`, if any.
std::optional<double> Sample(const std::vector<prometheus::MetricFamily>& families,
                             const std::string& name, const Labels& labels) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      Labels got;
      for (const auto& label : metric.label) got.emplace_back(label.name, label.value);
      if (got == labels) return metric.gauge.value;
    }
  }
  return std::nullopt;
}

TEST(ThresholdsTest, ShipsTheProductDefaults) {
  const auto config = Load("");
  ASSERT_TRUE(config.ok()) << config.error();
  const auto families = ThresholdsCollector::Families(config.value().retraining);
  const auto threshold = [&](const char* trigger, const char* priority) {
    return Sample(families, "outcomes_trigger_threshold",
                  {{"trigger", trigger}, {"priority", priority}, {"model_version", ""}});
  };
  EXPECT_EQ(threshold("PERFORMANCE_DROP", "MEDIUM"), 0.10);
  EXPECT_EQ(threshold("HIGH_RETURN_RATE", "MEDIUM"), 0.15);
  EXPECT_EQ(threshold("LOW_ACCEPTANCE_RATE", "MEDIUM"), 0.50);
  EXPECT_EQ(threshold("MODEL_DRIFT", "MEDIUM"), 0.3);
  EXPECT_EQ(threshold("HIGH_PREDICTION_LATENCY", "MEDIUM"), 1.0);
  EXPECT_EQ(threshold("NEW_DATA_THRESHOLD", "LOW"), 10000);
  EXPECT_EQ(
      Sample(families, "outcomes_trigger_guard",
             {{"trigger", "PERFORMANCE_DROP"}, {"guard", "zscore_medium"}, {"model_version", ""}}),
      3.7);
}

TEST(ThresholdsTest, DefaultsAndModelVersionOverridesFromTheConfiguration) {
  const auto config = Load(R"(
retraining:
  triggers:
    PERFORMANCE_DROP:
      thresholds: {MEDIUM: 0.08}
      guards: {min_recommendations: 5000}
  model_versions:
    v7:
      training_data_end: 1764547200
      triggers:
        HIGH_RETURN_RATE: {thresholds: {MEDIUM: 0.25}}
)");
  ASSERT_TRUE(config.ok()) << config.error();
  const auto families = ThresholdsCollector::Families(config.value().retraining);
  EXPECT_EQ(
      Sample(families, "outcomes_trigger_threshold",
             {{"trigger", "PERFORMANCE_DROP"}, {"priority", "MEDIUM"}, {"model_version", ""}}),
      0.08);
  // A default the section does not name keeps its shipped value.
  EXPECT_EQ(Sample(families, "outcomes_trigger_threshold",
                   {{"trigger", "PERFORMANCE_DROP"}, {"priority", "HIGH"}, {"model_version", ""}}),
            0.20);
  EXPECT_EQ(Sample(families, "outcomes_trigger_guard",
                   {{"trigger", "PERFORMANCE_DROP"},
                    {"guard", "min_recommendations"},
                    {"model_version", ""}}),
            5000);
  // A model version exports only what it overrides.
  EXPECT_EQ(
      Sample(families, "outcomes_trigger_threshold",
             {{"trigger", "HIGH_RETURN_RATE"}, {"priority", "MEDIUM"}, {"model_version", "v7"}}),
      0.25);
  EXPECT_EQ(
      Sample(families, "outcomes_trigger_threshold",
             {{"trigger", "HIGH_RETURN_RATE"}, {"priority", "HIGH"}, {"model_version", "v7"}}),
      std::nullopt);
  EXPECT_EQ(Sample(families, "outcomes_model_version_training_end_timestamp_seconds",
                   {{"model_version", "v7"}}),
            1764547200);
}

TEST(ThresholdsTest, RejectsUnknownTriggersPrioritiesGuardsAndNegativeValues) {
  const auto config = Load(R"(
retraining:
  triggers:
    PERFORMANCE_DROPS: {thresholds: {MEDIUM: 0.1}}
    MODEL_DRIFT:
      thresholds: {LOW: 0.1}
      guards: {min_recommendations: -5}
)");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:5: retraining.triggers.PERFORMANCE_DROPS: unknown key\n"
            "test.yml:6:20: retraining.triggers.MODEL_DRIFT.thresholds.LOW: unknown key\n"
            "test.yml:7:37: retraining.triggers.MODEL_DRIFT.guards.min_recommendations: must be "
            "a number >= 0");
}

TEST(ThresholdsTest, AReloadWithOtherThresholdsReplacesTheCollector) {
  const auto before = Load("");
  const auto after =
      Load("retraining:\n  triggers:\n    MODEL_DRIFT: {thresholds: {MEDIUM: 0.4}}\n");
  ASSERT_TRUE(before.ok() && after.ok());
  const ThresholdsCollector running(before.value().retraining);
  EXPECT_TRUE(running.SameConfig(ThresholdsCollector(before.value().retraining)));
  EXPECT_FALSE(running.SameConfig(ThresholdsCollector(after.value().retraining)));
}

}  // namespace
}  // namespace outcomes
