// The reader of `store.schema` (see schema.h): validates the mapping of the reference tables,
// columns and values onto the user's store, reporting every problem at its file:line:column.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "exporter/config/config.h"
#include "exporter/config/error_list.h"

namespace outcomes {

// Reads `node` (the value of store.schema; undefined or null gives the reference schema).
StoreSchema ReadStoreSchema(const YAML::Node& node, ErrorList& errors, const EnvLookup& env);

// One SQL name of the config, parsed: dot-separated parts, each either a plain lower-case
// identifier ([a-z_][a-z0-9_$]*, as PostgreSQL stores an unquoted name) or a double-quoted
// one ("Recs", "a""b") taken exactly. `error` says what is wrong when nullopt is returned.
std::optional<std::vector<std::string>> ParseSqlName(const std::string& text, std::string& error);

}  // namespace outcomes
