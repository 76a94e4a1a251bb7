// Durations in the Prometheus style: "500ms", "15s", "5m", "1h", "7d", or combinations such
// as "1h30m". Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "exporter/core/status.h"

namespace outcomes {

using Duration = std::chrono::milliseconds;

// Parses a duration; the error message says what is wrong with the text.
Result<Duration> ParseDuration(std::string_view text);

// Formats a duration the way ParseDuration reads it back ("1m30s", "250ms", "0s").
std::string FormatDuration(Duration duration);

// Seconds as a double, for metric values.
inline double ToSeconds(Duration duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace outcomes
