// ProbeCollector: the base of the collectors that ask a server over HTTP(S) on the io_context's
// thread (endpoints, registries). It owns their frame: the name "<kind>/<name>", the interval,
// the timeout (the request's own deadline plus a second, so the probe's deadline fires first
// and the scheduler's watchdog only backs it up), the HTTP client and the logger. A subclass,
// written as WithSettings<ProbeCollector, ItsConfig>, starts its requests in CollectAsync().
// Runs on the io_context's thread only.
#pragma once

#include <chrono>
#include <string>

#include "exporter/collectors/collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/probe/http_client.h"

namespace outcomes {

class ProbeCollector : public Collector {
 protected:
  ProbeCollector(const std::string& kind, const HttpClientConfig& config, HttpClient client,
                 Logger& log)
      : Collector(
            {kind + "/" + config.name, config.interval, config.timeout + std::chrono::seconds(1)}),
        client_(std::move(client)),
        log_(log) {}

  // The client's TLS context and URL are built from the settings, so comparing those suffices.
  bool SameSettings(const Collector& other) const override = 0;

  const HttpClient client_;
  Logger& log_;
};

inline bool ProbeCollector::SameSettings(const Collector& other) const {
  return Collector::SameSettings(other);
}

}  // namespace outcomes
