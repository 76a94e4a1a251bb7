// The reader of each section of the config file, one .cc per section, called by
// LoadConfigText. Each takes the reader of the file's top level, reads its own key from it and
// reports into the file's ErrorList. Internal to the config loader.
#pragma once

#include <optional>
#include <vector>

#include "exporter/config/config.h"

namespace outcomes {

class MapReader;

// `store:`; nullopt when absent or null (store_config.cc).
std::optional<StoreConfig> ReadStore(MapReader& root);
// `endpoints:` and `registries:` (endpoints_config.cc).
std::vector<EndpointConfig> ReadEndpoints(MapReader& root);
std::vector<RegistryConfig> ReadRegistries(MapReader& root);
// `queries:` (queries_config.cc).
std::vector<QueryConfig> ReadQueries(MapReader& root);
// `retraining:`, the shipped defaults when absent, and `analytics:`, nullopt when absent
// (analytics_config.cc).
RetrainingConfig ReadRetraining(MapReader& root);
std::optional<AnalyticsConfig> ReadAnalytics(MapReader& root);

}  // namespace outcomes
