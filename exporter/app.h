// App: wires the configuration, the scheduler and the HTTP server together, and owns reloads.
// Reload() runs on the io_context thread; the HTTP handlers are thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/collectors/registry.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/http/server.h"
#include "exporter/load_all.h"
#include "exporter/metrics/exposition.h"
#include "exporter/metrics/self.h"
#include "exporter/scheduling/scheduler.h"

namespace outcomes {

struct AppOptions {
  std::string config_file;
  std::string listen_address = ":9477";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;   // empty: no TLS, no auth; read again on every reload
  EnvLookup env = ProcessEnv();  // where ${VAR} of the config file comes from
};

class App {
 public:
  App(AppOptions options, BuildInfo build, Logger& log, boost::asio::io_context& io);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  App(App&&) = delete;
  App& operator=(App&&) = delete;

  // Reads the config and web config files with LoadAll, as every reload does.
  Result<LoadedFiles> Load();
  // Starts the collectors and the HTTP server of what Load() returned.
  Status Start(LoadedFiles files);
  // Starts the collectors of `config`, with no web config: for a Config built in code (tests).
  Status Start(const Config& config);
  // Re-reads the config file and the web config file; on any failure, an exception included,
  // keeps both running configs and returns the reason. Never throws. Call on the io thread.
  Status Reload();
  // Posts Reload() to the io thread and waits for its result (for HTTP threads). Never throws.
  Status ReloadAndWait();
  // Stops HTTP and collectors; returns false if a collector did not stop within `grace`.
  bool Stop(Duration grace);

  const HttpServer* http() const { return http_.get(); }

  // The /metrics body, as text or gzip-compressed.
  std::string MetricsText() const;
  std::string MetricsGzip() const;

 private:
  std::map<std::string, HttpHandler> Routes();
  HttpResponse ServeMetrics(const HttpRequest& request) const;
  std::shared_ptr<const PreparedFamilies> OwnFamilies(const std::vector<PreparedPart>& parts) const;
  std::shared_ptr<const PreparedFamilies> BuildOwnFamilies() const;
  Status ApplyFiles();
  ReloadState reload_state() const;

  const AppOptions options_;
  const BuildInfo build_;
  Logger& log_;
  boost::asio::io_context& io_;
  CollectorContext collector_context_;
  Scheduler scheduler_;
  mutable Exposition exposition_;  // thread-safe; a cache, so scrapes stay const

  // The sidecar's own and process metrics as last built, and for which collector parts and
  // reload state; see OwnFamilies().
  struct OwnFamiliesCache {
    std::vector<PreparedPart> parts;
    ReloadState reload;
    std::chrono::steady_clock::time_point built{};
    std::shared_ptr<const PreparedFamilies> families;
  };
  mutable std::mutex own_mutex_;
  mutable OwnFamiliesCache own_;
  std::unique_ptr<HttpServer> http_;
  mutable std::mutex reload_mutex_;
  ReloadState reload_;
};

}  // namespace outcomes
