// LoadAll: the one loader of the files the exporter runs on, shared by --config.check, the
// start and every reload, so that the three accept and refuse exactly the same files with
// exactly the same messages. Pure apart from reading the files; the result is a plain value.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exporter/collectors/collector.h"
#include "exporter/collectors/registry.h"
#include "exporter/config/config.h"
#include "exporter/core/status.h"
#include "exporter/http/web_config.h"

namespace outcomes {

// Which files to read.
struct LoadOptions {
  // --config.file. Required.
  std::string config_file;
  // --web.config.file; empty: no TLS, no authentication. Default: empty.
  std::string web_config_file;
};

// Everything a start or a reload applies, all of it valid.
struct LoadedFiles {
  Config config;
  WebConfig web;
  // Built from `config`, not started.
  std::vector<std::shared_ptr<Collector>> collectors;
};

// Reads the config file and the web config file (if given), loads the web config's
// certificate, key and client CA as the HTTP server will, and builds the collectors (without
// running them). On failure the error lists every problem found in both files, one per line,
// each starting with its file's name.
Result<LoadedFiles> LoadAll(const LoadOptions& files, const EnvLookup& env,
                            CollectorContext& context);

// The collectors of `config`, each problem on its own line prefixed with `config_file` as in
// LoadAll (collectors have no line position).
Result<std::vector<std::shared_ptr<Collector>>> BuildCollectorsOf(const Config& config,
                                                                  const std::string& config_file,
                                                                  CollectorContext& context);

}  // namespace outcomes
