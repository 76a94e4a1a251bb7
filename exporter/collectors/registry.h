// The one explicit table of collectors. Adding a collector means writing its file and adding
// one line to the table in registry.cc; nothing registers itself at static-init time.
#pragma once

#include <memory>
#include <vector>

#include "exporter/collectors/collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"

namespace outcomes {

struct CollectorContext {
  Logger& log;
};

// Builds every collector the configuration asks for, in table order. Fails, naming every
// collector that cannot be built, when one cannot (e.g. an unreadable TLS file).
Result<std::vector<std::shared_ptr<Collector>>> BuildCollectors(const Config& config,
                                                                CollectorContext& context);

}  // namespace outcomes
