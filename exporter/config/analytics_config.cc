#include "exporter/config/analytics_config.h"

#include <cmath>
#include <limits>

#include "exporter/config/quality_config_reader.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

// The named numbers of `key` (thresholds or guards): only the names `known` holds, each a
// number of at least 0.
void ReadTriggerNumbers(MapReader& parent, const std::string& key,
                        const std::map<std::string, double>& known,
                        std::map<std::string, double>& out) {
  auto reader = parent.Nested(key);
  if (!reader) return;
  for (const auto& [name, unused] : known) {
    double value = std::numeric_limits<double>::quiet_NaN();
    reader->Double(name, value);
    if (std::isnan(value)) continue;
    if (!std::isfinite(value) || value < 0) {
      reader->Error(name, "must be a number >= 0");
      continue;
    }
    out[name] = value;
  }
  reader->RejectUnknownKeys();
}

// `triggers:` of `retraining` or of one model version: known trigger names only.
std::map<std::string, TriggerSettings> ReadTriggers(MapReader& parent) {
  std::map<std::string, TriggerSettings> triggers;
  auto reader = parent.Nested("triggers");
  if (!reader) return triggers;
  for (const auto& [name, known] : DefaultRetrainingTriggers()) {
    auto trigger = reader->Nested(name);
    if (!trigger) continue;
    TriggerSettings& settings = triggers[name];
    ReadTriggerNumbers(*trigger, "thresholds", known.thresholds, settings.thresholds);
    ReadTriggerNumbers(*trigger, "guards", known.guards, settings.guards);
    trigger->RejectUnknownKeys();
  }
  reader->RejectUnknownKeys();
  return triggers;
}

// `model_versions:` of `retraining`: per version, its own triggers and training_data_end.
void ReadModelVersions(MapReader& reader, RetrainingConfig& retraining) {
  const YAML::Node versions = reader.Get("model_versions");
  if (!versions.IsDefined() || versions.IsNull()) return;
  if (!versions.IsMap()) {
    reader.Error("model_versions", "expected a mapping of model versions");
    return;
  }
  for (const auto& entry : versions) {
    const auto version = entry.first.as<std::string>();
    MapReader version_reader(entry.second, "retraining.model_versions." + version, reader.errors(),
                             reader.dialect());
    if (!version_reader.valid()) continue;
    ModelVersionRetrainingConfig config;
    config.triggers = ReadTriggers(version_reader);
    double end = std::numeric_limits<double>::quiet_NaN();
    version_reader.Double("training_data_end", end);
    if (!std::isnan(end)) config.training_data_end = end;
    version_reader.RejectUnknownKeys();
    retraining.model_versions[version] = std::move(config);
  }
}

std::optional<AbTestsConfig> ReadAbTests(MapReader& analytics) {
  auto ab = analytics.Nested("ab_tests");
  if (!ab) return std::nullopt;
  AbTestsConfig config;
  ab->DurationField("interval", config.interval);
  ab->DurationField("timeout", config.timeout);
  ab->Double("confidence", config.confidence);
  ab->Double("minimum_detectable_effect", config.minimum_detectable_effect);
  ab->Double("power", config.power);
  ab->Int64("min_units_per_arm", config.min_units_per_arm);
  ab->Double("srm_threshold", config.srm_threshold);
  double tau = std::numeric_limits<double>::quiet_NaN();  // NaN: not set, derived per test
  ab->Double("msprt_tau", tau);
  if (!std::isnan(tau)) config.msprt_tau = tau;
  ab->DurationField("ended_retention", config.ended_retention);
  ab->Int64("max_tracked_customers", config.max_tracked_customers);
  ab->RejectUnknownKeys();
  if (config.max_tracked_customers < 0) ab->Error("max_tracked_customers", "must be at least 0");
  RequirePositive(*ab, "interval", config.interval);
  RequirePositive(*ab, "timeout", config.timeout);
  RequireFraction(*ab, "confidence", config.confidence);
  RequireFraction(*ab, "power", config.power);
  RequireFraction(*ab, "srm_threshold", config.srm_threshold);
  if (config.minimum_detectable_effect <= 0) {
    ab->Error("minimum_detectable_effect", "must be greater than 0");
  }
  if (config.msprt_tau && *config.msprt_tau <= 0) ab->Error("msprt_tau", "must be greater than 0");
  if (config.min_units_per_arm < 1) ab->Error("min_units_per_arm", "must be at least 1");
  return config;
}

std::optional<DriftConfig> ReadDrift(MapReader& analytics) {
  auto drift = analytics.Nested("drift");
  if (!drift) return std::nullopt;
  DriftConfig config;
  drift->DurationField("interval", config.interval);
  drift->DurationField("timeout", config.timeout);
  drift->DurationField("current_window", config.current_window);
  drift->DurationField("reference_window", config.reference_window);
  drift->Int64("bins", config.bins);
  drift->RejectUnknownKeys();
  for (const auto& [key, value] : {std::pair{"interval", config.interval},
                                   {"timeout", config.timeout},
                                   {"current_window", config.current_window},
                                   {"reference_window", config.reference_window}}) {
    RequirePositive(*drift, key, value);
  }
  if (config.bins < 2 || config.bins > 100) drift->Error("bins", "must be between 2 and 100");
  return config;
}

std::optional<CohortsConfig> ReadCohorts(MapReader& analytics) {
  auto cohorts = analytics.Nested("cohorts");
  if (!cohorts) return std::nullopt;
  CohortsConfig config;
  cohorts->DurationField("interval", config.interval);
  cohorts->DurationField("timeout", config.timeout);
  cohorts->DurationField("lag", config.lag);
  cohorts->DurationField("window", config.window);
  cohorts->RejectUnknownKeys();
  RequirePositive(*cohorts, "interval", config.interval);
  RequirePositive(*cohorts, "timeout", config.timeout);
  RequirePositive(*cohorts, "window", config.window);
  if (config.lag < Duration::zero()) cohorts->Error("lag", "must not be negative");
  return config;
}

}  // namespace

RetrainingConfig ReadRetraining(MapReader& root) {
  RetrainingConfig retraining;
  std::optional<MapReader> reader = root.Nested("retraining");
  if (!reader) return retraining;
  for (const auto& [name, settings] : ReadTriggers(*reader)) {
    TriggerSettings& target = retraining.triggers[name];
    for (const auto& [key, value] : settings.thresholds) target.thresholds[key] = value;
    for (const auto& [key, value] : settings.guards) target.guards[key] = value;
  }
  ReadModelVersions(*reader, retraining);
  reader->RejectUnknownKeys();
  return retraining;
}

std::optional<AnalyticsConfig> ReadAnalytics(MapReader& root) {
  std::optional<MapReader> reader = root.Nested("analytics");
  if (!reader) return std::nullopt;
  AnalyticsConfig analytics;
  reader->Double("cost_per_recommendation", analytics.cost_per_recommendation);
  analytics.ab_tests = ReadAbTests(*reader);
  analytics.drift = ReadDrift(*reader);
  analytics.cohorts = ReadCohorts(*reader);
  analytics.data_quality = ReadDataQuality(*reader);
  analytics.sections = ReadCollectorSections(*reader, CollectorSectionReaders());
  reader->RejectUnknownKeys();
  if (analytics.cost_per_recommendation < 0) {
    reader->Error("cost_per_recommendation", "must not be negative");
  }
  return analytics;
}

std::map<std::string, TriggerSettings> DefaultRetrainingTriggers() {
  // z 3.7 / 4.3 (one-sided p 1e-4 / 9e-6): the daily tests run continuously on a sliding
  // day, so they must be far stricter than a one-off 95% test to stay below one false
  // ticket a year per model version (docs/ALERTS.md).
  return {
      {"PERFORMANCE_DROP",
       {{{"HIGH", 0.20}, {"MEDIUM", 0.10}},
        {{"zscore_high", 4.3},
         {"zscore_medium", 3.7},
         {"min_recommendations", 1000},
         {"min_baseline_purchases", 50}}}},
      {"SATISFACTION_DROP",
       {{{"HIGH", 0.20}, {"MEDIUM", 0.10}},
        {{"zscore_high", 4.3},
         {"zscore_medium", 3.7},
         {"min_feedback", 50},
         {"min_baseline_feedback", 100}}}},
      {"HIGH_RETURN_RATE", {{{"HIGH", 0.15}, {"MEDIUM", 0.15}}, {{"min_purchases", 50}}}},
      {"LOW_ACCEPTANCE_RATE", {{{"HIGH", 0.50}, {"MEDIUM", 0.50}}, {{"min_decided", 100}}}},
      {"NEW_DATA_THRESHOLD", {{{"LOW", 10000}}, {}}},
      {"MODEL_DRIFT", {{{"HIGH", 0.5}, {"MEDIUM", 0.3}}, {{"min_recommendations", 200}}}},
      {"HIGH_PREDICTION_LATENCY", {{{"MEDIUM", 1.0}}, {{"min_probes", 20}}}},
  };
}

}  // namespace outcomes
