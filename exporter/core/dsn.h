// Helpers for libpq connection strings (key=value form and postgres:// URIs). Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outcomes {

// Returns the DSN with its password replaced by "xxxxx", safe for logs and pages.
std::string RedactDsn(std::string_view dsn);

// Removes every occurrence of the DSN's password from `text` (e.g. a library error message).
std::string ScrubSecret(std::string text, std::string_view dsn);

// Returns the DSN with the given parameters added, unless the DSN sets them already.
std::string WithConnParams(std::string_view dsn,
                           const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace outcomes
