// The names users give metrics and labels in the config: what Prometheus accepts and what the
// exporter keeps for itself. Pure functions.
#pragma once

#include <string>

namespace outcomes {

bool ValidMetricName(const std::string& name);
// Names the exporter exports itself; a user-defined metric must not shadow them.
bool IsReservedMetricName(const std::string& name);
// A valid metric name that is not reserved by the exposition format (__*, le, quantile).
bool ValidLabelName(const std::string& name);

}  // namespace outcomes
