#include "exporter/load_all.h"

#include <sstream>

#include "exporter/http/server.h"

namespace outcomes {
namespace {

void AddLines(std::string& errors, const std::string& lines) {
  if (!errors.empty()) errors += '\n';
  errors += lines;
}

// The web config, with its TLS files loaded once to prove that the server can use them.
Result<WebConfig> LoadWebConfig(const std::string& path) {
  if (path.empty()) return WebConfig{};
  Result<WebConfig> web = LoadWebConfigFile(path);
  if (!web.ok()) return web;
  if (const Status tls = HttpServer::CheckTls(web.value()); !tls.ok()) {
    return Status::Error(path + ": " + tls.message());
  }
  return web;
}

}  // namespace

Result<std::vector<std::shared_ptr<Collector>>> BuildCollectorsOf(const Config& config,
                                                                  const std::string& config_file,
                                                                  CollectorContext& context) {
  Result<std::vector<std::shared_ptr<Collector>>> collectors = BuildCollectors(config, context);
  if (collectors.ok() || config_file.empty()) return collectors;
  std::string errors;
  std::istringstream lines(collectors.error());
  for (std::string line; std::getline(lines, line);) AddLines(errors, config_file + ": " + line);
  return Status::Error(errors);
}

Result<LoadedFiles> LoadAll(const LoadOptions& files, const EnvLookup& env,
                            CollectorContext& context) {
  std::string errors;
  Result<Config> config = LoadConfigFile(files.config_file, env);
  if (!config.ok()) AddLines(errors, config.error());
  Result<WebConfig> web = LoadWebConfig(files.web_config_file);
  if (!web.ok()) AddLines(errors, web.error());
  if (!config.ok()) return Status::Error(errors);
  // Built even when the web config failed, so that one run lists the problems of both files.
  Result<std::vector<std::shared_ptr<Collector>>> collectors =
      BuildCollectorsOf(config.value(), files.config_file, context);
  if (!collectors.ok()) AddLines(errors, collectors.error());
  if (!errors.empty()) return Status::Error(errors);
  return LoadedFiles{std::move(config).value(), std::move(web).value(),
                     std::move(collectors).value()};
}

}  // namespace outcomes
