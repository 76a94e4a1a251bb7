#include "exporter/config/metric_names.h"

#include <algorithm>
#include <cctype>

namespace outcomes {

bool ValidMetricName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsReservedMetricName(const std::string& name) {
  return name.starts_with("outcomes_") || name.starts_with("model_endpoint_") ||
         name.starts_with("model_registry_") || name == "model_info" ||
         name.starts_with("process_");
}

bool ValidLabelName(const std::string& name) {
  return ValidMetricName(name) && !name.starts_with("__") && name != "le" && name != "quantile";
}

}  // namespace outcomes
