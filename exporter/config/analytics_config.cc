#include <cmath>
#include <limits>

#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

void RequireFraction(MapReader& reader, const std::string& key, double value, ErrorList& errors) {
  if (!(value > 0 && value < 1)) {
    errors.Add(reader.MarkOf(key), reader.Qualified(key) + ": must be between 0 and 1 (exclusive)");
  }
}

// The named numbers of `key` (thresholds or guards): only the names `known` holds, each a
// number of at least 0.
void ReadTriggerNumbers(MapReader& parent, const std::string& key,
                        const std::map<std::string, double>& known,
                        std::map<std::string, double>& out, ErrorList& errors) {
  auto reader = parent.Nested(key);
  if (!reader) return;
  for (const auto& [name, unused] : known) {
    double value = std::numeric_limits<double>::quiet_NaN();
    reader->Double(name, value);
    if (std::isnan(value)) continue;
    if (!std::isfinite(value) || value < 0) {
      errors.Add(reader->MarkOf(name), reader->Qualified(name) + ": must be a number >= 0");
      continue;
    }
    out[name] = value;
  }
  reader->RejectUnknownKeys();
}

// `triggers:` of `retraining` or of one model version: known trigger names only.
std::map<std::string, TriggerSettings> ReadTriggers(MapReader& parent, ErrorList& errors) {
  std::map<std::string, TriggerSettings> triggers;
  auto reader = parent.Nested("triggers");
  if (!reader) return triggers;
  for (const auto& [name, known] : DefaultRetrainingTriggers()) {
    auto trigger = reader->Nested(name);
    if (!trigger) continue;
    TriggerSettings& settings = triggers[name];
    ReadTriggerNumbers(*trigger, "thresholds", known.thresholds, settings.thresholds, errors);
    ReadTriggerNumbers(*trigger, "guards", known.guards, settings.guards, errors);
    trigger->RejectUnknownKeys();
  }
  reader->RejectUnknownKeys();
  return triggers;
}

}  // namespace

RetrainingConfig ReadRetraining(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  RetrainingConfig retraining;
  MapReader reader(node, "retraining", errors, env);
  for (const auto& [name, settings] : ReadTriggers(reader, errors)) {
    TriggerSettings& target = retraining.triggers[name];
    for (const auto& [key, value] : settings.thresholds) target.thresholds[key] = value;
    for (const auto& [key, value] : settings.guards) target.guards[key] = value;
  }
  const YAML::Node versions = reader.Get("model_versions");
  if (versions.IsDefined() && !versions.IsNull()) {
    if (!versions.IsMap()) {
      errors.Add(versions.Mark(),
                 "retraining.model_versions: expected a mapping of model versions");
    } else {
      for (const auto& entry : versions) {
        const std::string version = entry.first.as<std::string>();
        MapReader version_reader(entry.second, "retraining.model_versions." + version, errors, env);
        if (!version_reader.valid()) continue;
        ModelVersionRetrainingConfig config;
        config.triggers = ReadTriggers(version_reader, errors);
        double end = std::numeric_limits<double>::quiet_NaN();
        version_reader.Double("training_data_end", end);
        if (!std::isnan(end)) config.training_data_end = end;
        version_reader.RejectUnknownKeys();
        retraining.model_versions[version] = std::move(config);
      }
    }
  }
  reader.RejectUnknownKeys();
  return retraining;
}

AnalyticsConfig ReadAnalytics(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  AnalyticsConfig analytics;
  MapReader reader(node, "analytics", errors, env);
  reader.Double("cost_per_recommendation", analytics.cost_per_recommendation);
  if (auto ab = reader.Nested("ab_tests")) {
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
    ab->RejectUnknownKeys();
    RequirePositive(*ab, "interval", config.interval, errors);
    RequirePositive(*ab, "timeout", config.timeout, errors);
    RequireFraction(*ab, "confidence", config.confidence, errors);
    RequireFraction(*ab, "power", config.power, errors);
    RequireFraction(*ab, "srm_threshold", config.srm_threshold, errors);
    if (config.minimum_detectable_effect <= 0) {
      errors.Add(ab->MarkOf("minimum_detectable_effect"),
                 ab->Qualified("minimum_detectable_effect") + ": must be greater than 0");
    }
    if (config.msprt_tau && *config.msprt_tau <= 0) {
      errors.Add(ab->MarkOf("msprt_tau"), ab->Qualified("msprt_tau") + ": must be greater than 0");
    }
    if (config.min_units_per_arm < 1) {
      errors.Add(ab->MarkOf("min_units_per_arm"),
                 ab->Qualified("min_units_per_arm") + ": must be at least 1");
    }
    analytics.ab_tests = config;
  }
  if (auto drift = reader.Nested("drift")) {
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
      RequirePositive(*drift, key, value, errors);
    }
    if (config.bins < 2 || config.bins > 100) {
      errors.Add(drift->MarkOf("bins"), drift->Qualified("bins") + ": must be between 2 and 100");
    }
    analytics.drift = config;
  }
  if (auto cohorts = reader.Nested("cohorts")) {
    CohortsConfig config;
    cohorts->DurationField("interval", config.interval);
    cohorts->DurationField("timeout", config.timeout);
    cohorts->DurationField("lag", config.lag);
    cohorts->DurationField("window", config.window);
    cohorts->RejectUnknownKeys();
    RequirePositive(*cohorts, "interval", config.interval, errors);
    RequirePositive(*cohorts, "timeout", config.timeout, errors);
    RequirePositive(*cohorts, "window", config.window, errors);
    if (config.lag < Duration::zero()) {
      errors.Add(cohorts->MarkOf("lag"), cohorts->Qualified("lag") + ": must not be negative");
    }
    analytics.cohorts = config;
  }
  reader.RejectUnknownKeys();
  if (analytics.cost_per_recommendation < 0) {
    errors.Add(reader.MarkOf("cost_per_recommendation"),
               "analytics.cost_per_recommendation: must not be negative");
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
