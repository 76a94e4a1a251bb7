// The readers of `analytics.data_quality` and `store_health` (quality_config.h), called by
// LoadConfigText. Pure functions of the YAML node.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "exporter/config/config.h"
#include "exporter/config/error_list.h"

namespace outcomes {

// Read `node`, the value of the key `path` (e.g. "analytics.data_quality"). Every problem goes
// to `errors` with its file:line:column; the defaults stand for what could not be read.
// Durations expand ${VAR} with `env`.
DataQualityConfig ReadDataQualityConfig(const YAML::Node& node, const std::string& path,
                                        ErrorList& errors, const EnvLookup& env);
StoreHealthConfig ReadStoreHealthConfig(const YAML::Node& node, const std::string& path,
                                        ErrorList& errors, const EnvLookup& env);

}  // namespace outcomes
