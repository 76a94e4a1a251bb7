// The sidecar's configuration: plain structs whose every field documents its default, and the
// loader that validates a YAML file into them. Only a Config returned by LoadConfig* is valid;
// consumers never see a half-checked one. All types are plain values (not shared).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "exporter/config/analytics_config.h"
#include "exporter/config/endpoints_config.h"
#include "exporter/config/env_and_files.h"
#include "exporter/config/quality_config.h"
#include "exporter/config/queries_config.h"
#include "exporter/config/store_config.h"
#include "exporter/core/status.h"

namespace outcomes {

struct Config {
  std::optional<StoreConfig> store;
  std::optional<AnalyticsConfig> analytics;
  std::vector<EndpointConfig> endpoints;
  std::vector<RegistryConfig> registries;
  std::vector<QueryConfig> queries;
  // Always present: without a `retraining` section, the shipped defaults.
  RetrainingConfig retraining;
  // Used only with a store.
  StoreHealthConfig store_health;

  bool operator==(const Config&) const = default;
};

// Parses and validates YAML text. On failure the error lists every problem, one per line, as
// "source:line:column: message".
Result<Config> LoadConfigText(std::string_view yaml, const std::string& source,
                              const EnvLookup& env);
// Reads the file, then as LoadConfigText.
Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env);

}  // namespace outcomes
