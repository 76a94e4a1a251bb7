#include "exporter/collectors/thresholds.h"

#include <utility>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

struct Families {
  prometheus::MetricFamily thresholds =
      MakeFamily("outcomes_trigger_threshold",
                 "Value a retraining trigger's measure is compared with, per priority "
                 "(model_version=\"\": the default).",
                 prometheus::MetricType::Gauge);
  prometheus::MetricFamily guards =
      MakeFamily("outcomes_trigger_guard",
                 "A retraining trigger's guard: z level or minimum volume "
                 "(model_version=\"\": the default).",
                 prometheus::MetricType::Gauge);
  prometheus::MetricFamily training_end =
      MakeFamily("outcomes_model_version_training_end_timestamp_seconds",
                 "Configured end of a model version's training data, Unix seconds.",
                 prometheus::MetricType::Gauge);
};

void AddTriggers(Families& out, const std::map<std::string, TriggerSettings>& triggers,
                 const std::string& model_version) {
  for (const auto& [trigger, settings] : triggers) {
    for (const auto& [priority, value] : settings.thresholds) {
      AddSample(out.thresholds,
                {{"trigger", trigger}, {"priority", priority}, {"model_version", model_version}},
                value);
    }
    for (const auto& [guard, value] : settings.guards) {
      AddSample(out.guards,
                {{"trigger", trigger}, {"guard", guard}, {"model_version", model_version}}, value);
    }
  }
}

}  // namespace

ThresholdsCollector::ThresholdsCollector(RetrainingConfig config)
    : WithSettings(
          config, CollectorFrame{"thresholds", std::chrono::minutes(1), std::chrono::seconds(10)}) {
}

std::vector<prometheus::MetricFamily> ThresholdsCollector::Families(
    const RetrainingConfig& config) {
  struct Families out;
  AddTriggers(out, config.triggers, "");
  for (const auto& [version, overrides] : config.model_versions) {
    AddTriggers(out, overrides.triggers, version);
    if (overrides.training_data_end) {
      AddSample(out.training_end, {{"model_version", version}}, *overrides.training_data_end);
    }
  }
  std::vector<prometheus::MetricFamily> families;
  for (auto* family : {&out.thresholds, &out.guards, &out.training_end}) {
    if (!family->metric.empty()) families.push_back(std::move(*family));
  }
  return families;
}

void ThresholdsCollector::CollectAsync(boost::asio::io_context& /*io*/, Done done) {
  done(Collect());
}

CollectOutput ThresholdsCollector::Collect() const { return {Status::Ok(), Families(config_)}; }

std::shared_ptr<ThresholdsCollector> MakeThresholdsCollector(const Config& config) {
  return std::make_shared<ThresholdsCollector>(config.retraining);
}

void AddThresholdsCollector(const Config& config, CollectorContext& /*context*/,
                            CollectorSet& out) {
  out.Add(MakeThresholdsCollector(config));
}

}  // namespace outcomes
