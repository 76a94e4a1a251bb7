// The reader of each section of the config file, one file per section; LoadConfigText calls
// them. Internal to the config loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <vector>

#include "exporter/config/config.h"
#include "exporter/config/error_list.h"

namespace outcomes {

StoreConfig ReadStore(const YAML::Node& node, ErrorList& errors, const EnvLookup& env);
std::vector<EndpointConfig> ReadEndpoints(const YAML::Node& node, ErrorList& errors,
                                          const EnvLookup& env);
std::vector<RegistryConfig> ReadRegistries(const YAML::Node& node, ErrorList& errors,
                                           const EnvLookup& env);
std::vector<QueryConfig> ReadQueries(const YAML::Node& node, ErrorList& errors,
                                     const EnvLookup& env);
RetrainingConfig ReadRetraining(const YAML::Node& node, ErrorList& errors, const EnvLookup& env);
AnalyticsConfig ReadAnalytics(const YAML::Node& node, ErrorList& errors, const EnvLookup& env);

}  // namespace outcomes
