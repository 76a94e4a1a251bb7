// The generator's command line: `history` or `live` and their options. Parsing is a pure
// function of the arguments and the OUTCOMES_DSN fallback; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/core/status.h"

namespace outcomes::generator {

struct Options {
  std::string dsn;                        // libpq DSN or URI. Default: $OUTCOMES_DSN
  std::string mode;                       // "history" or "live"; required
  bool help = false;                      // -h/--help: print kUsage and exit
  std::int64_t days = 14;                 // history: length of the window in days. Default: 14
  std::int64_t per_day = 2000;            // history: recommendations per day. Default: 2000
  std::uint64_t seed = 1;                 // Default: 1
  double rate = 10;                       // live: recommendations per second. Default: 10
  std::optional<Duration> duration;       // live: how long to run. Default: until a signal
  std::string degrade_version;            // live: the version whose returns rise. Default: none
  std::optional<Duration> degrade_after;  // live: when they rise. Default: 0s
  double degrade_return_rate = 0.25;      // live: their return rate. Default: 0.25
  std::set<std::string> given;            // the options given, for mode checks
};

extern const char* const kUsage;

// Parses argv[1..]; the error is one line for the user (exit code 2). `env_dsn` is
// $OUTCOMES_DSN or null.
Result<Options> ParseOptions(const std::vector<std::string>& args, const char* env_dsn);

}  // namespace outcomes::generator
