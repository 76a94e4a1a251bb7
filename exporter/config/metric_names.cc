#include "exporter/config/metric_names.h"

#include <prometheus/check_names.h>

#include <algorithm>
#include <cctype>

namespace outcomes {

bool ValidColumnName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// prometheus-cpp's check, which also refuses the __ prefix Prometheus keeps for itself; colons
// are for the names of recording rules, never for an exporter's metrics.
bool ValidMetricName(const std::string& name) {
  return prometheus::CheckMetricName(name) && name.find(':') == std::string::npos;
}

bool IsReservedMetricName(const std::string& name) {
  return name.starts_with("outcomes_") || name.starts_with("model_endpoint_") ||
         name.starts_with("model_registry_") || name == "model_info" ||
         name.starts_with("process_");
}

std::string UserMetricNameProblem(const std::string& name) {
  if (name.starts_with("__")) {
    return "\"" + name + "\" is not a valid metric name (names starting with __ are Prometheus's)";
  }
  if (!name.empty() && !ValidMetricName(name)) {
    return "\"" + name + "\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)";
  }
  if (IsReservedMetricName(name)) return "\"" + name + "\" collides with a built-in metric";
  return "";
}

bool ValidLabelName(const std::string& name) {
  return prometheus::CheckLabelName(name) && name != "le" && name != "quantile";
}

}  // namespace outcomes
