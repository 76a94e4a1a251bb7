// The readers of `analytics.data_quality` and `store_health` (quality_config.h), called by
// the config loader; they report into the file's ErrorList like every section reader.
#pragma once

#include <optional>

#include "exporter/config/config.h"

namespace outcomes {

class MapReader;

// `analytics.data_quality`: nullopt when absent; `data_quality:` alone is every default.
std::optional<DataQualityConfig> ReadDataQuality(MapReader& analytics);
// `store_health`: the defaults (on) when absent.
StoreHealthConfig ReadStoreHealth(MapReader& root);

}  // namespace outcomes
