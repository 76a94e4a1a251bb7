// `store:` of the config file: the outcomes store collector's settings. Plain values.
#pragma once

#include <cstdint>
#include <string>

#include "exporter/config/schema.h"
#include "exporter/core/duration.h"

namespace outcomes {

using namespace std::chrono_literals;

// `store:` — the outcomes store (PostgreSQL) collector. Absent: no store collector runs.
struct StoreConfig {
  // libpq connection string or URI. Required unless dsn_file is set. `${VAR}` expands from
  // the environment. Its password is never logged.
  std::string dsn;
  // A file holding the DSN (first line); read at load and at every reload. Default: none.
  std::string dsn_file;
  // How often new rows are read past the watermark. Default: 15s.
  Duration interval = 15s;
  // How often a full recount corrects the counters (late commits, rows missed). Default: 5m.
  Duration reconcile_interval = 5min;
  // How long ids missing below the watermark are re-checked each cycle before the full recount
  // alone is trusted to find them (a transaction open longer than this). Default: 10m.
  Duration late_commit_window = 10min;
  // Server-side limit on every statement (SET statement_timeout). Default: 1m.
  Duration statement_timeout = 1min;
  // Limit on establishing a connection (libpq connect_timeout, whole seconds). Default: 5s.
  Duration connect_timeout = 5s;
  // Deadline for one collection cycle; past it the cycle is cancelled and fails. Default: 2m.
  Duration timeout = 2min;
  // Upper bound of the exponential reconnect backoff. Default: 2m.
  Duration max_backoff = 2min;
  // application_name shown in pg_stat_activity. Default: outcomes_exporter.
  std::string application_name = "outcomes_exporter";
  // Most label sets exported per built-in family (outcomes_events_total, ...); the excess keeps
  // counting but is left out of /metrics and counted in outcomes_exporter_series_dropped.
  // Default: 10000.
  std::int64_t series_limit = 10'000;
  // Most missing-id ranges per table the reconciliation sweep re-checks in one cycle; the sweep
  // aims at one pass per reconcile_interval and takes longer when this bound is reached.
  // Default: 1000.
  std::int64_t sweep_ranges_per_cycle = 1'000;
  // `store.schema`: the user's names for the reference tables, columns and values (schema.h).
  // Default: the reference schema.
  StoreSchema schema;

  bool operator==(const StoreConfig&) const = default;
};

}  // namespace outcomes
