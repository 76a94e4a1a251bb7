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
#include "exporter/collectors/factory.h"
#include "exporter/config/config.h"

namespace outcomes {

class ThresholdsCollector : public WithSettings<Collector, RetrainingConfig> {
 public:
  explicit ThresholdsCollector(RetrainingConfig config);

  // Reads nothing, so the cycle ends at once, on the io_context's thread.
  void CollectAsync(boost::asio::io_context& io, Done done) override;
  CollectOutput Collect() const;

  // The families of `config`, for Collect() and for tests.
  static std::vector<prometheus::MetricFamily> Families(const RetrainingConfig& config);

 private:
  // settings(), by the name the reads use.
  const RetrainingConfig& config_ = settings();
};

std::shared_ptr<ThresholdsCollector> MakeThresholdsCollector(const Config& config);

// The factory of "thresholds": always one collector.
void AddThresholdsCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
