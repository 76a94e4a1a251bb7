// Command-line flags in the Prometheus exporter style (--name=value or --name value). Pure.
#pragma once

#include <string>
#include <vector>

#include "exporter/core/status.h"

namespace outcomes {

struct Flags {
  std::string config_file = "outcomes_exporter.yml";
  std::string listen_address = ":9477";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool config_check = false;
  bool version = false;
  bool help = false;
};

Result<Flags> ParseFlags(const std::vector<std::string>& args);
std::string FlagsUsage();

}  // namespace outcomes
