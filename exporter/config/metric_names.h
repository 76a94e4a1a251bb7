// The names users give metrics, labels and columns in the config: what Prometheus accepts and
// what the exporter keeps for itself. Pure functions.
#pragma once

#include <string>

namespace outcomes {

// A metric name as Prometheus (prometheus-cpp's CheckMetricName) accepts it, without the colons
// that recording rules alone use.
bool ValidMetricName(const std::string& name);
// Names the exporter exports itself; a user-defined metric must not shadow them.
bool IsReservedMetricName(const std::string& name);
// Why `name` cannot name a user-defined metric (not a valid name, or a built-in one), or ""
// when it can. An empty name is left to the `required` check.
std::string UserMetricNameProblem(const std::string& name);
// A label name as prometheus-cpp's CheckLabelName accepts it (no __ prefix), but not one the
// exposition format gives a meaning to (le, quantile).
bool ValidLabelName(const std::string& name);
// A plain SQL column name: [a-zA-Z_][a-zA-Z0-9_]*.
bool ValidColumnName(const std::string& name);

}  // namespace outcomes
