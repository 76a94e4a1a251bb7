// `analytics:` and `retraining:` of the config file: the statistics computed in the store and
// the retraining triggers' numbers. Plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "exporter/config/collector_sections.h"
#include "exporter/config/quality_config.h"
#include "exporter/core/duration.h"

namespace outcomes {

using namespace std::chrono_literals;

// `analytics.ab_tests` — statistics of the A/B tests in `ab_tests`, from aggregate SQL.
struct AbTestsConfig {
  // Time between two computations. Default: 1m.
  Duration interval = 1min;
  // Deadline of one computation. Default: 1m.
  Duration timeout = 1min;
  // Confidence needed to declare a winner (always-valid p <= 1 - confidence). Default: 0.95.
  double confidence = 0.95;
  // Smallest relative change in conversion the test should detect, for the sample size.
  // Default: 0.1 (10%).
  double minimum_detectable_effect = 0.1;
  // Power of that sample size. Default: 0.8.
  double power = 0.8;
  // Fewest customers per arm before any winner. Default: 100.
  std::int64_t min_units_per_arm = 100;
  // Sample ratio mismatch p-value below which the split is broken. Default: 0.001.
  double srm_threshold = 0.001;
  // Standard deviation of the mSPRT mixing prior on the conversion difference. Default: unset,
  // derived per test as minimum_detectable_effect * variant_a's observed conversion rate.
  std::optional<double> msprt_tau;
  // How long ENDED tests keep being exported. Default: 7d.
  Duration ended_retention = std::chrono::hours(24 * 7);
  // Most customers (per test and variant) whose conversion and revenue are held in memory, so
  // that new rows need no re-read of a customer's history; past it the least recently active
  // are evicted and read back by an index lookup when they return. 0 holds none. Default:
  // 1000000 (about 100 MB).
  std::int64_t max_tracked_customers = 1'000'000;

  bool operator==(const AbTestsConfig&) const = default;
};

// `analytics.drift` — population stability index of recommendations.score per model_version.
struct DriftConfig {
  // Default: 5m.
  Duration interval = 5min;
  // Default: 1m.
  Duration timeout = 1min;
  // The current window: the last `current_window`. Default: 1d.
  Duration current_window = std::chrono::hours(24);
  // The reference window: the `reference_window` before the current one. Default: 7d.
  Duration reference_window = std::chrono::hours(24 * 7);
  // Equal-frequency bins cut on the reference window. Default: 10.
  std::int64_t bins = 10;

  bool operator==(const DriftConfig&) const = default;
};

// `analytics.cohorts` — matured-cohort rates per model_version (outcomes arrive late).
struct CohortsConfig {
  // Default: 5m.
  Duration interval = 5min;
  // Default: 1m.
  Duration timeout = 1min;
  // Recommendations younger than this are not judged yet. Default: 3d.
  Duration lag = std::chrono::hours(24 * 3);
  // Length of the cohort: recommendations created in [now - lag - window, now - lag].
  // Default: 7d.
  Duration window = std::chrono::hours(24 * 7);

  bool operator==(const CohortsConfig&) const = default;
};

// `analytics` — collectors that compute statistics in the store (they need `store`).
struct AnalyticsConfig {
  std::optional<AbTestsConfig> ab_tests;
  std::optional<DriftConfig> drift;
  std::optional<CohortsConfig> cohorts;
  std::optional<DataQualityConfig> data_quality;
  // Cost of serving one recommendation, exported for the ROI recording rule. Default: 0.
  double cost_per_recommendation = 0;
  // The sections whose collector declares and reads them itself (collector_sections.h), by key.
  CollectorSections sections;

  bool operator==(const AnalyticsConfig&) const = default;
};

// `retraining` — the thresholds and guards of the retraining triggers, exported as gauges
// (thresholds collector) that the shipped rules compare with, so that a team tunes them here
// and by reload instead of editing rule files.
// The numbers of one trigger: per priority (HIGH, MEDIUM, LOW) the value its measure is
// compared with, and its guards (z levels, minimum volumes) by name.
struct TriggerSettings {
  std::map<std::string, double> thresholds;
  std::map<std::string, double> guards;

  bool operator==(const TriggerSettings&) const = default;
};

// The shipped defaults, per trigger name: the product's thresholds (10%, 15%, 50%, 0.3, 1 s)
// and the guards docs/ALERTS.md explains. Only these triggers, priorities and guards exist.
std::map<std::string, TriggerSettings> DefaultRetrainingTriggers();

// `retraining.model_versions.<model_version>` — what differs for one model version.
struct ModelVersionRetrainingConfig {
  // Per trigger, only the thresholds and guards that differ from the defaults.
  std::map<std::string, TriggerSettings> triggers;
  // When the version's training data ends, Unix seconds: NEW_DATA_THRESHOLD counts the
  // outcomes recorded since. Default: none (the endpoint's field, else the version's start).
  std::optional<double> training_data_end;

  bool operator==(const ModelVersionRetrainingConfig&) const = default;
};

struct RetrainingConfig {
  // Every trigger with every threshold and guard. Default: DefaultRetrainingTriggers().
  std::map<std::string, TriggerSettings> triggers = DefaultRetrainingTriggers();
  // Per model version overrides. Default: none.
  std::map<std::string, ModelVersionRetrainingConfig> model_versions;

  bool operator==(const RetrainingConfig&) const = default;
};

}  // namespace outcomes
