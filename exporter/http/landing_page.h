// The HTML landing page at "/": version, every collector's last run, and links. Pure.
#pragma once

#include <string>
#include <vector>

#include "exporter/core/collector_state.h"
#include "exporter/metrics/self.h"

namespace outcomes {

std::string RenderLandingPage(const BuildInfo& build, const std::string& telemetry_path,
                              const std::vector<CollectorState>& collectors,
                              const ReloadState& reload, const std::string& config_file);

}  // namespace outcomes
