// The one explicit table of collectors. Each collector kind's file defines its factory (see
// factory.h); adding a kind means writing its file and adding its factory's line to the table
// in registry.cc. Nothing registers itself at static-init time.
#pragma once

#include <memory>
#include <vector>

#include "exporter/collectors/collector.h"
#include "exporter/collectors/factory.h"
#include "exporter/config/config.h"

namespace outcomes {

// Builds every collector the configuration asks for, in table order. Fails, naming every
// collector that cannot be built, when one cannot (e.g. an unreadable TLS file).
Result<std::vector<std::shared_ptr<Collector>>> BuildCollectors(const Config& config,
                                                                CollectorContext& context);

}  // namespace outcomes
