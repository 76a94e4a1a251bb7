#include <climits>

#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

// PostgreSQL's largest statement_timeout: an int of milliseconds (about 24.8 days).
constexpr Duration kLongestStatementTimeout{INT_MAX};

}  // namespace

StoreConfig ReadStore(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  StoreConfig store;
  MapReader reader(node, "store", errors, env);
  reader.String("dsn", store.dsn);
  reader.String("dsn_file", store.dsn_file);
  reader.DurationField("interval", store.interval);
  reader.DurationField("reconcile_interval", store.reconcile_interval);
  reader.DurationField("late_commit_window", store.late_commit_window);
  reader.DurationField("statement_timeout", store.statement_timeout);
  reader.DurationField("connect_timeout", store.connect_timeout);
  reader.DurationField("timeout", store.timeout);
  reader.DurationField("max_backoff", store.max_backoff);
  reader.String("application_name", store.application_name);
  reader.Int64("series_limit", store.series_limit);
  reader.RejectUnknownKeys();
  if (!reader.valid()) return store;

  const auto present = [&reader](const char* key) {
    const YAML::Node value = reader.Get(key);
    return value.IsDefined() && !value.IsNull();
  };
  if (present("dsn") == present("dsn_file")) {
    errors.Add(reader.Mark(), "store: set exactly one of dsn and dsn_file");
  } else if (present("dsn_file") && !store.dsn_file.empty()) {
    std::string error;
    if (auto dsn = ReadFirstLine(store.dsn_file, error)) {
      store.dsn = *dsn;
    } else {
      errors.Add(reader.MarkOf("dsn_file"), "store.dsn_file: " + error);
    }
  }
  RequirePositive(reader, "interval", store.interval, errors);
  RequirePositive(reader, "statement_timeout", store.statement_timeout, errors);
  if (store.statement_timeout > kLongestStatementTimeout) {
    // PostgreSQL would refuse the SET, and the store would never connect.
    errors.Add(reader.MarkOf("statement_timeout"), "store.statement_timeout: must be at most " +
                                                       FormatDuration(kLongestStatementTimeout) +
                                                       " (PostgreSQL's limit, 2147483647ms)");
  }
  RequirePositive(reader, "timeout", store.timeout, errors);
  RequirePositive(reader, "max_backoff", store.max_backoff, errors);
  if (store.connect_timeout < 1s) {
    errors.Add(reader.MarkOf("connect_timeout"),
               "store.connect_timeout: must be at least 1s (libpq counts whole seconds)");
  }
  if (store.reconcile_interval < store.interval) {
    errors.Add(reader.MarkOf("reconcile_interval"),
               "store.reconcile_interval: must be at least store.interval (" +
                   FormatDuration(store.interval) + ")");
  }
  if (store.late_commit_window < Duration::zero()) {
    errors.Add(reader.MarkOf("late_commit_window"),
               "store.late_commit_window: must not be negative");
  }
  if (store.application_name.empty()) {
    errors.Add(reader.MarkOf("application_name"), "store.application_name: must not be empty");
  }
  if (store.series_limit < 1) {
    errors.Add(reader.MarkOf("series_limit"), "store.series_limit: must be at least 1");
  }
  return store;
}

}  // namespace outcomes
