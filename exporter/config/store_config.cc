#include "exporter/config/store_config.h"

#include <climits>

#include "exporter/config/schema_config.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

// PostgreSQL's largest statement_timeout: an int of milliseconds (about 24.8 days).
constexpr Duration kLongestStatementTimeout{INT_MAX};

void ReadStoreFields(MapReader& reader, StoreConfig& store) {
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
  reader.Int64("sweep_ranges_per_cycle", store.sweep_ranges_per_cycle);
  const EnvLookup literal = [](const std::string&) { return std::optional<std::string>(); };
  const EnvLookup& env = reader.dialect().env ? *reader.dialect().env : literal;
  store.schema = ReadStoreSchema(reader.Get("schema"), reader.errors(), env);
}

// Exactly one of dsn and dsn_file; the file is read now, and again at every reload.
void ResolveDsn(MapReader& reader, StoreConfig& store) {
  if (reader.Has("dsn") == reader.Has("dsn_file")) {
    reader.ErrorHere("set exactly one of dsn and dsn_file");
  } else if (reader.Has("dsn_file") && !store.dsn_file.empty()) {
    std::string error;
    if (auto dsn = ReadFirstLine(store.dsn_file, error)) {
      store.dsn = *dsn;
    } else {
      reader.Error("dsn_file", error);
    }
  }
}

void ValidateStore(MapReader& reader, const StoreConfig& store) {
  RequirePositive(reader, "interval", store.interval);
  RequirePositive(reader, "statement_timeout", store.statement_timeout);
  if (store.statement_timeout > kLongestStatementTimeout) {
    // PostgreSQL would refuse the SET, and the store would never connect.
    reader.Error("statement_timeout", "must be at most " +
                                          FormatDuration(kLongestStatementTimeout) +
                                          " (PostgreSQL's limit, 2147483647ms)");
  }
  RequirePositive(reader, "timeout", store.timeout);
  RequirePositive(reader, "max_backoff", store.max_backoff);
  if (store.connect_timeout < 1s) {
    reader.Error("connect_timeout", "must be at least 1s (libpq counts whole seconds)");
  }
  if (store.reconcile_interval < store.interval) {
    reader.Error("reconcile_interval",
                 "must be at least store.interval (" + FormatDuration(store.interval) + ")");
  }
  if (store.late_commit_window < Duration::zero()) {
    reader.Error("late_commit_window", "must not be negative");
  }
  if (store.application_name.empty()) reader.Error("application_name", "must not be empty");
  if (store.series_limit < 1) reader.Error("series_limit", "must be at least 1");
  if (store.sweep_ranges_per_cycle < 1) {
    reader.Error("sweep_ranges_per_cycle", "must be at least 1");
  }
}

}  // namespace

std::optional<StoreConfig> ReadStore(MapReader& root) {
  std::optional<MapReader> reader = root.Nested("store");
  if (!reader) return std::nullopt;
  StoreConfig store;
  ReadStoreFields(*reader, store);
  reader->RejectUnknownKeys();
  if (!reader->valid()) return store;
  ResolveDsn(*reader, store);
  ValidateStore(*reader, store);
  return store;
}

}  // namespace outcomes
