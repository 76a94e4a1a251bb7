#include "tools/generator/options.h"

#include <charconv>

#include "tools/generator/simulation.h"

namespace outcomes::generator {

const char* const kUsage = R"(usage:
  outcomes_generator --dsn DSN history [--days N] [--per-day N] [--seed N]
  outcomes_generator --dsn DSN live [--rate N] [--duration D] [--seed N]
                     [--degrade-version V] [--degrade-after D] [--degrade-return-rate R]

Fills the outcomes store (deploy/sql/schema.sql must be applied) with realistic
recommendations, their outcome events (PENDING, ACCEPTED/REJECTED, PURCHASED/NOT_PURCHASED,
RETURNED) and customer feedback, for demos and tests.

  --dsn DSN                 libpq connection string or URI (default: $OUTCOMES_DSN)
  --seed N                  random seed (default 1)

history: the past N days up to now, written as fast as possible
  --days N                  length of the history in days (default 14)
  --per-day N               recommendations per day (default 2000)
  Model versions v1.0.0 -> v1.1.0 -> v1.2.0 roll out one after the other; A/B test
  homepage-carousel-2026q3 (ended) then reco-ranker-2026q4 (running) each cover about
  half of the traffic of their period. Steps that would happen after now are left out.

live: new recommendations at a steady rate until the duration ends or SIGINT/SIGTERM
  --rate N                  recommendations per second (default 10)
  --duration D              how long to run, e.g. 90s, 10m (default: until a signal)
  --degrade-version V       make purchases of model version V (v1.1.0 or v1.2.0) return
                            more often ...
  --degrade-after D         ... starting D after the start (default 0s) ...
  --degrade-return-rate R   ... with probability R (default 0.25)
  Traffic: v1.2.0 85%, v1.1.0 15%; half of the customers in reco-ranker-2026q4.
  Events follow within seconds, possibly in later transactions.

Durations: a whole number with a unit ms, s, m, h or d; units can be combined (1h30m).
)";

namespace {

const std::set<std::string> kKnown = {"--dsn",
                                      "--days",
                                      "--per-day",
                                      "--seed",
                                      "--rate",
                                      "--duration",
                                      "--degrade-version",
                                      "--degrade-after",
                                      "--degrade-return-rate"};
const std::set<std::string> kHistoryOnly = {"--days", "--per-day"};
const std::set<std::string> kLiveOnly = {"--rate", "--duration", "--degrade-version",
                                         "--degrade-after", "--degrade-return-rate"};

template <typename T>
Result<T> ParseNumberOption(const std::string& text, const std::string& option) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
    return Status::Error(option + ": invalid number '" + text + "'");
  }
  return value;
}

Result<Duration> ParseDurationOption(const std::string& text, const std::string& option) {
  Result<Duration> parsed = ParseDuration(text);
  if (!parsed.ok()) return Status::Error(option + ": " + parsed.error());
  return parsed;
}

// Stores a number option's value, checked against [lo, hi].
template <typename T>
Status SetNumber(T& field, const std::string& text, const std::string& option, T lo, T hi,
                 const std::string& range_error) {
  const Result<T> parsed = ParseNumberOption<T>(text, option);
  if (!parsed.ok()) return parsed.status();
  if (!(parsed.value() >= lo && parsed.value() <= hi)) return Status::Error(range_error);
  field = parsed.value();
  return Status::Ok();
}

Status SetOption(Options& o, const std::string& option, const std::string& value) {
  if (option == "--dsn") {
    o.dsn = value;
  } else if (option == "--days") {
    return SetNumber(o.days, value, option, std::int64_t{1}, std::int64_t{3650},
                     "--days must be between 1 and 3650");
  } else if (option == "--per-day") {
    return SetNumber(o.per_day, value, option, std::int64_t{1}, std::int64_t{100000000},
                     "--per-day must be between 1 and 100000000");
  } else if (option == "--seed") {
    const Result<std::uint64_t> seed = ParseNumberOption<std::uint64_t>(value, option);
    if (!seed.ok()) return seed.status();
    o.seed = seed.value();
  } else if (option == "--rate") {
    Status status = SetNumber(o.rate, value, option, 0.0, 1e6, "--rate must be > 0 and <= 1000000");
    if (status.ok() && !(o.rate > 0)) return Status::Error("--rate must be > 0 and <= 1000000");
    return status;
  } else if (option == "--duration") {
    Result<Duration> duration = ParseDurationOption(value, option);
    if (!duration.ok()) return duration.status();
    if (duration.value() <= Duration(0)) return Status::Error("--duration must be positive");
    o.duration = duration.value();
  } else if (option == "--degrade-version") {
    o.degrade_version = value;
  } else if (option == "--degrade-after") {
    Result<Duration> after = ParseDurationOption(value, option);
    if (!after.ok()) return after.status();
    o.degrade_after = after.value();
  } else if (option == "--degrade-return-rate") {
    return SetNumber(o.degrade_return_rate, value, option, 0.0, 1.0,
                     "--degrade-return-rate must be between 0 and 1");
  }
  return Status::Ok();
}

// A word without dashes: the command.
Status SetMode(Options& o, const std::string& arg) {
  if (arg.starts_with("-")) return Status::Error("unknown option '" + arg + "' (see --help)");
  if (!o.mode.empty()) return Status::Error("unexpected argument '" + arg + "' (see --help)");
  if (arg != "history" && arg != "live") {
    return Status::Error("unknown command '" + arg + "' (expected history or live)");
  }
  o.mode = arg;
  return Status::Ok();
}

// The checks that need the whole command line.
Status CheckCombination(const Options& o) {
  for (const auto& given : o.given) {
    if (o.mode == "history" && kLiveOnly.contains(given)) {
      return Status::Error(given + " is only valid for live");
    }
    if (o.mode == "live" && kHistoryOnly.contains(given)) {
      return Status::Error(given + " is only valid for history");
    }
  }
  if (o.mode == "live" && o.degrade_version.empty() &&
      (o.given.contains("--degrade-after") || o.given.contains("--degrade-return-rate"))) {
    return Status::Error("--degrade-after and --degrade-return-rate need --degrade-version");
  }
  if (!o.degrade_version.empty() && o.degrade_version != kVersions[kV110].name &&
      o.degrade_version != kVersions[kV120].name) {
    return Status::Error(
        "--degrade-version must be one of the versions live writes: v1.1.0, v1.2.0");
  }
  return Status::Ok();
}

}  // namespace

Result<Options> ParseOptions(const std::vector<std::string>& args, const char* env_dsn) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    }
    if (!arg.starts_with("--")) {
      if (Status status = SetMode(o, arg); !status.ok()) return status;
      continue;
    }
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (!kKnown.contains(arg)) return Status::Error("unknown option '" + arg + "' (see --help)");
    if (!has_value) {
      if (i + 1 >= args.size()) return Status::Error(arg + " needs a value");
      value = args[++i];
    }
    o.given.insert(arg);
    if (Status status = SetOption(o, arg, value); !status.ok()) return status;
  }
  if (o.mode.empty()) return Status::Error("missing command: history or live (see --help)");
  if (o.dsn.empty() && env_dsn != nullptr) o.dsn = env_dsn;
  if (o.dsn.empty()) return Status::Error("missing --dsn (or OUTCOMES_DSN)");
  if (Status status = CheckCombination(o); !status.ok()) return status;
  return o;
}

}  // namespace outcomes::generator
