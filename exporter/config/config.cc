#include "exporter/config/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "exporter/config/error_list.h"
#include "exporter/config/quality_config_reader.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

// The YAML tree of `yaml`, or nullopt after adding why it is not a config file's.
std::optional<YAML::Node> ParseDocument(std::string_view yaml, ErrorList& errors) {
  try {
    if (!CheckDocument(yaml, errors)) return std::nullopt;
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const std::optional<YAML::Mark> quote =
        e.msg == YAML::ErrorMsg::EOF_IN_SCALAR ? FindUnclosedQuote(WithoutBom(yaml)) : std::nullopt;
    if (quote) {
      errors.Add(*quote, "invalid YAML: the quote that opens here is never closed");
    } else {
      errors.Add(e.mark, "invalid YAML: " + e.msg);
    }
    return std::nullopt;
  }
}

// Every section, then what one section needs of another.
void ReadSections(MapReader& root, Config& config) {
  config.store = ReadStore(root);
  config.endpoints = ReadEndpoints(root);
  config.registries = ReadRegistries(root);
  config.queries = ReadQueries(root);
  if (!config.queries.empty() && !config.store) {
    root.Error("queries", "need a store section to run against");
  }
  config.retraining = ReadRetraining(root);
  config.analytics = ReadAnalytics(root);
  if (config.analytics && !config.store) {
    root.Error("analytics", "needs a store section to read from");
  }
  config.store_health = ReadStoreHealth(root);
  if (root.Has("store_health") && !config.store) {
    root.Error("store_health", "needs a store section");
  }
  root.RejectUnknownKeys();
}

}  // namespace

Result<Config> LoadConfigText(std::string_view yaml, const std::string& source,
                              const EnvLookup& env) {
  ErrorList errors(source);
  const std::optional<YAML::Node> root = ParseDocument(yaml, errors);
  if (!root) return Status::Error(errors.Joined());
  Config config;
  if (root->IsNull() || !root->IsDefined()) return config;  // An empty file: nothing to collect.
  try {
    MapReader reader(*root, "", errors, YamlDialect{.env = &env});
    if (reader.valid()) ReadSections(reader, config);
  } catch (const YAML::Exception& e) {
    // For example a mapping used as a key: yaml-cpp cannot convert it to a string.
    errors.Add(e.mark, "invalid structure: " + e.msg);
  }
  if (!errors.empty()) return Status::Error(errors.Joined());
  return config;
}

Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::error_code error;  // the overload that throws would end a reload on EACCES or ENAMETOOLONG
  if (std::filesystem::is_directory(path, error)) {
    return Status::Error(path + ": is a directory, not a config file");
  }
  std::ifstream file(path);
  if (!file) return Status::Error(path + ": cannot open config file");
  std::stringstream text;
  text << file.rdbuf();
  return LoadConfigText(text.str(), path, env);
}

}  // namespace outcomes
