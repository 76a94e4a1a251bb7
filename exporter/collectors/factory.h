// What a collector kind's factory gets and gives. Each collector file defines its own factory
// (AddStoreCollector, AddQueryCollectors, ...) next to the collector: it reads its part of the
// Config, adds the collectors it asks for and reports, one line each, those it cannot build.
// registry.cc lists the factories, one line per kind.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/collectors/collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/core/status.h"
#include "exporter/store/session.h"

namespace outcomes {

// What the factories share; lives as long as the collectors built with it.
struct CollectorContext {
  Logger& log;
  // Opens the SQL collectors' store sessions. Default: PostgreSQL; tests pass the fake store.
  std::function<std::unique_ptr<StoreSession>(const SessionOptions&)> make_session =
      [](const SessionOptions& options) { return MakePgSession(options); };
};

// The collectors built so far, and the problems met (one line each).
struct CollectorSet {
  std::vector<std::shared_ptr<Collector>> collectors;
  std::string errors;

  void Add(std::shared_ptr<Collector> collector) { collectors.push_back(std::move(collector)); }
  void Fail(const std::string& error) { errors += (errors.empty() ? "" : "\n") + error; }
  // Adds the collector a Create() returned, or its error.
  template <typename T>
  void AddOrFail(Result<std::shared_ptr<T>> created) {
    if (created.ok()) {
      Add(created.value());
    } else {
      Fail(created.error());
    }
  }
};

// Adds the collectors of one kind that `config` asks for.
using CollectorFactory = void (*)(const Config& config, CollectorContext& context,
                                  CollectorSet& out);

}  // namespace outcomes
