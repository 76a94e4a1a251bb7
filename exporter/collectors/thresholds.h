// The thresholds collector ("thresholds"): the retraining triggers' thresholds and guards of
// the configuration (`retraining`), as gauges the shipped rules join, so that changing one is
// a configuration reload, not a rule edit:
//   outcomes_trigger_threshold{trigger, priority, model_version}
//   outcomes_trigger_guard{trigger, guard, model_version}
//   outcomes_model_version_training_end_timestamp_seconds{model_version}
// model_version="" holds the defaults; a model version's series exist only for what it
// overrides. Reads nothing: every cycle succeeds.
#pragma once

#include <memory>

#include "exporter/collectors/collector.h"
#include "exporter/config/config.h"

namespace outcomes {

class ThresholdsCollector : public Collector {
 public:
  explicit ThresholdsCollector(RetrainingConfig config);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return std::chrono::minutes(1); }
  Duration timeout() const override { return std::chrono::seconds(10); }
  // Reads nothing, so the cycle ends at once, on the io_context's thread.
  void CollectAsync(boost::asio::io_context& io, Done done) override;
  CollectOutput Collect() const;
  bool SameConfig(const Collector& other) const override;

  // The families of `config`, for Collect() and for tests.
  static std::vector<prometheus::MetricFamily> Families(const RetrainingConfig& config);

 private:
  const std::string name_ = "thresholds";
  const RetrainingConfig config_;
};

std::shared_ptr<ThresholdsCollector> MakeThresholdsCollector(const Config& config);

}  // namespace outcomes
