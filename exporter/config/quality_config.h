// The settings of the data-quality and store-health collectors: `analytics.data_quality`
// (outcome delay histogram and data-quality counters) and `store_health` (size, connection
// and transaction gauges). Their readers are in quality_config_reader.h. Plain values (not
// shared).
#pragma once

#include <vector>

#include "exporter/core/duration.h"

namespace outcomes {

// `analytics.data_quality` — the "data_quality" collector: how long outcomes take to arrive,
// and rows that contradict the life of a recommendation, read from the rows new since the
// exporter started. Absent: the collector does not run.
struct DataQualityConfig {
  // Time between two reads of the new rows. Default: 1m.
  Duration interval = std::chrono::minutes(1);
  // Deadline of one cycle. Default: 1m.
  Duration timeout = std::chrono::minutes(1);
  // Upper bounds, in seconds, of outcomes_event_delay_seconds (recommendation to outcome),
  // ascending. Default: 1m, 5m, 15m, 1h, 3h, 6h, 12h, 1d, 2d, 3d, 7d, 14d, 30d.
  std::vector<double> delay_buckets = {60,    300,    900,    3600,   10800,   21600,  43200,
                                       86400, 172800, 259200, 604800, 1209600, 2592000};

  bool operator==(const DataQualityConfig&) const = default;
};

// `store_health` — the "store_health" collector: database and table sizes, the sidecar's own
// connections and the age of the oldest writing transaction. Runs whenever `store` is set,
// unless `enabled: false`.
struct StoreHealthConfig {
  // Default: true (the gauges are a few catalog reads a minute).
  bool enabled = true;
  // Default: 1m.
  Duration interval = std::chrono::minutes(1);
  // Default: 30s.
  Duration timeout = std::chrono::seconds(30);

  bool operator==(const StoreHealthConfig&) const = default;
};

}  // namespace outcomes
