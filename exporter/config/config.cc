#include "exporter/config/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "exporter/config/error_list.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {

Result<Config> LoadConfigText(std::string_view yaml, const std::string& source,
                              const EnvLookup& env) {
  ErrorList errors(source);
  YAML::Node root;
  try {
    if (!CheckDocument(yaml, errors)) return Status::Error(errors.Joined());
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const std::optional<YAML::Mark> quote =
        e.msg == YAML::ErrorMsg::EOF_IN_SCALAR ? FindUnclosedQuote(WithoutBom(yaml)) : std::nullopt;
    if (quote) {
      errors.Add(*quote, "invalid YAML: the quote that opens here is never closed");
    } else {
      errors.Add(e.mark, "invalid YAML: " + e.msg);
    }
    return Status::Error(errors.Joined());
  }
  Config config;
  if (root.IsNull() || !root.IsDefined()) return config;  // An empty file: nothing to collect.
  try {
    MapReader reader(root, "", errors, env);
    if (reader.valid()) {
      if (const YAML::Node store = reader.Get("store"); store.IsDefined() && !store.IsNull()) {
        config.store = ReadStore(store, errors, env);
      }
      if (const YAML::Node endpoints = reader.Get("endpoints"); endpoints.IsDefined()) {
        config.endpoints = ReadEndpoints(endpoints, errors, env);
      }
      if (const YAML::Node registries = reader.Get("registries"); registries.IsDefined()) {
        config.registries = ReadRegistries(registries, errors, env);
      }
      if (const YAML::Node queries = reader.Get("queries"); queries.IsDefined()) {
        config.queries = ReadQueries(queries, errors, env);
        if (!config.queries.empty() && !config.store) {
          errors.Add(queries.Mark(), "queries: need a store section to run against");
        }
      }
      if (const YAML::Node retraining = reader.Get("retraining");
          retraining.IsDefined() && !retraining.IsNull()) {
        config.retraining = ReadRetraining(retraining, errors, env);
      }
      if (const YAML::Node analytics = reader.Get("analytics");
          analytics.IsDefined() && !analytics.IsNull()) {
        config.analytics = ReadAnalytics(analytics, errors, env);
        if (!config.store) {
          errors.Add(analytics.Mark(), "analytics: needs a store section to read from");
        }
      }
      reader.RejectUnknownKeys();
    }
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
