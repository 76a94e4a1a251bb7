// The sidecar's own metrics: build info, per-collector health and config reloads. Pure
// functions of their inputs.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <string>
#include <vector>

#include "exporter/core/collector_state.h"

namespace outcomes {

struct BuildInfo {
  std::string version;
  std::string revision;
};

struct ReloadState {
  bool last_successful = true;
  std::chrono::system_clock::time_point last_success_time{};
};

std::vector<prometheus::MetricFamily> SelfMetrics(const BuildInfo& build,
                                                  const std::vector<CollectorState>& collectors,
                                                  const ReloadState& reload);

}  // namespace outcomes
