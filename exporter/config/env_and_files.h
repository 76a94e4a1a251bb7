// What the config takes from outside its YAML: ${VAR} from the environment, and the first line
// of a file (a DSN, a token). Pure functions.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/core/status.h"

namespace outcomes {

// Looks up an environment variable; the seam that lets tests run without touching the real
// environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Replaces ${VAR} with the variable's value; "$$" stands for a literal "$". The error names
// the variable that is not set.
Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env);

// The first line of `path` without trailing blanks; nullopt with `error` set when the file
// cannot be read or the line is empty.
std::optional<std::string> ReadFirstLine(const std::string& path, std::string& error);

}  // namespace outcomes
