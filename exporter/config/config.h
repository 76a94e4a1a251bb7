// The sidecar's configuration: plain structs whose every field documents its default, and the
// loader that validates a YAML file into them. Only a Config returned by LoadConfig* is valid;
// consumers never see a half-checked one. All types are plain values (not shared).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/core/status.h"

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

  bool operator==(const StoreConfig&) const = default;
};

// `tls` of endpoints and registries: TLS options for https URLs.
struct TlsClientConfig {
  // PEM file of the CA(s) that sign the server's certificate. Default: the system store.
  std::string ca_file;
  // PEM client certificate and key, for servers that require mTLS. Default: none.
  std::string cert_file;
  std::string key_file;
  // Name checked against the certificate (and sent as SNI). Default: the URL's host.
  std::string server_name;
  // Accept any certificate. Logged as a warning at start. Default: false.
  bool insecure_skip_verify = false;

  bool operator==(const TlsClientConfig&) const = default;
};

// `endpoints[].fields[]` — a number in the JSON body exported as a gauge.
struct EndpointFieldConfig {
  // Metric name, e.g. model_accuracy_ratio. Required; must not be a built-in name.
  std::string metric;
  // JSON Pointer (RFC 6901) into the body, e.g. /metrics/accuracy. Required.
  std::string pointer;
  // HELP text. Default: "Value of <pointer> in the endpoint's response."
  std::string help;
  // Numbers for strings and booleans found at the pointer, e.g. {healthy: 1, degraded: 0.5,
  // "true": 1}; booleans look up "true" and "false". Numbers are exported as they are.
  // Default: none (only numbers are exported).
  std::map<std::string, double> values;

  bool operator==(const EndpointFieldConfig&) const = default;
};

// `endpoints[].expect[]` — what the answer's JSON body must hold for the probe to pass.
struct EndpointExpectConfig {
  // JSON Pointer (RFC 6901) that must exist in the body. Required.
  std::string pointer;
  // The value it must equal: a string equals a JSON string, a number a JSON number of the
  // same value, true/false/null the JSON literal. Default: none (existing is enough).
  std::optional<std::string> equals;

  bool operator==(const EndpointExpectConfig&) const = default;
};

// What every outgoing HTTP client (endpoint probes, registry queries) shares.
struct HttpClientConfig {
  // Unique name among its kind, exported as a label. Required.
  std::string name;
  // http:// or https:// URL. Required.
  std::string url;
  // Extra request headers; values may use ${VAR}. Default: none.
  std::vector<std::pair<std::string, std::string>> headers;
  // File whose first line is sent as "Authorization: Bearer <token>", re-read on every
  // request so a rotated token needs no reload. Default: none.
  std::string bearer_token_file;
  // Time between requests. Default: 15s (endpoints), 1m (registries).
  Duration interval = 15s;
  // Deadline of one request, from connect to the last byte. Default: 2s (endpoints), 5s
  // (registries).
  Duration timeout = 2s;
  TlsClientConfig tls;

  bool operator==(const HttpClientConfig&) const = default;
};

// `endpoints[]` — a model-serving endpoint to probe.
struct EndpointConfig : HttpClientConfig {
  // GET, HEAD or POST. Default: GET.
  std::string method = "GET";
  // Request body of a POST, sent as application/json unless `headers` set Content-Type:
  // inline, or read from `body_file` at load and at each reload. Default: empty.
  std::string body;
  std::string body_file;
  // Checks of the JSON answer; a failed one fails the probe (reason unexpected_body).
  // Default: none.
  std::vector<EndpointExpectConfig> expect;
  // Status codes that count as up. Default: empty, meaning any 2xx.
  std::vector<int> valid_status_codes;
  // Largest body read; a larger one fails the probe (reason body_too_large). Default: 1 MiB.
  std::int64_t max_body_bytes = 1 << 20;
  // Upper bounds of the probe-duration histogram, in seconds, ascending. Default: Prometheus's
  // defaults, which include 1 (the latency SLO's threshold).
  std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // JSON Pointers for the model_info labels; empty ones are exported as "". Default: none.
  std::string model_name_pointer;
  std::string model_version_pointer;
  std::string stage_pointer;
  std::vector<EndpointFieldConfig> fields;

  bool operator==(const EndpointConfig&) const = default;
};

// `registries[]` — an MLflow model registry whose latest version per stage is exported, so
// that dashboards and alerts can compare it with the version the endpoints serve.
struct RegistryConfig : HttpClientConfig {
  RegistryConfig() {
    interval = std::chrono::minutes(1);
    timeout = std::chrono::seconds(5);
  }
  // Registered model names to look up. Required, at least one.
  std::vector<std::string> models;
  // Stages asked for; empty for a registry that uses aliases only. Default: Production,
  // Staging.
  std::vector<std::string> stages = {"Production", "Staging"};
  // The alias that names the version endpoints should serve (MLflow 2.9+), compared with
  // model_info by ModelEndpointVersionMismatch in place of the Production stage. Default:
  // champion.
  std::string champion_alias = "champion";

  bool operator==(const RegistryConfig&) const = default;
};

// `analytics.ab_tests` — statistics of the A/B tests in `ab_tests`, from aggregate SQL.
struct AbTestsConfig {
  // Time between two computations. Default: 1m.
  Duration interval = 1min;
  // Deadline of one computation. Default: 1m.
  Duration timeout = 1min;
  // Confidence needed to declare a winner (always-valid p <= 1 - confidence). Default: 0.95.
  double confidence = 0.95;
  // Smallest relative change in conversion the test should detect, for the sample size.
  // Default: 0.1 (10%).
  double minimum_detectable_effect = 0.1;
  // Power of that sample size. Default: 0.8.
  double power = 0.8;
  // Fewest customers per arm before any winner. Default: 100.
  std::int64_t min_units_per_arm = 100;
  // Sample ratio mismatch p-value below which the split is broken. Default: 0.001.
  double srm_threshold = 0.001;
  // Standard deviation of the mSPRT mixing prior on the conversion difference. Default: unset,
  // derived per test as minimum_detectable_effect * variant_a's observed conversion rate.
  std::optional<double> msprt_tau;
  // How long ENDED tests keep being exported. Default: 7d.
  Duration ended_retention = std::chrono::hours(24 * 7);
  // Most customers (per test and variant) whose conversion and revenue are held in memory, so
  // that new rows need no re-read of a customer's history; past it the least recently active
  // are evicted and read back by an index lookup when they return. 0 holds none. Default:
  // 1000000 (about 100 MB).
  std::int64_t max_tracked_customers = 1'000'000;

  bool operator==(const AbTestsConfig&) const = default;
};

// `analytics.drift` — population stability index of recommendations.score per model_version.
struct DriftConfig {
  // Default: 5m.
  Duration interval = 5min;
  // Default: 1m.
  Duration timeout = 1min;
  // The current window: the last `current_window`. Default: 1d.
  Duration current_window = std::chrono::hours(24);
  // The reference window: the `reference_window` before the current one. Default: 7d.
  Duration reference_window = std::chrono::hours(24 * 7);
  // Equal-frequency bins cut on the reference window. Default: 10.
  std::int64_t bins = 10;

  bool operator==(const DriftConfig&) const = default;
};

// `analytics.cohorts` — matured-cohort rates per model_version (outcomes arrive late).
struct CohortsConfig {
  // Default: 5m.
  Duration interval = 5min;
  // Default: 1m.
  Duration timeout = 1min;
  // Recommendations younger than this are not judged yet. Default: 3d.
  Duration lag = std::chrono::hours(24 * 3);
  // Length of the cohort: recommendations created in [now - lag - window, now - lag].
  // Default: 7d.
  Duration window = std::chrono::hours(24 * 7);

  bool operator==(const CohortsConfig&) const = default;
};

// `analytics` — collectors that compute statistics in the store (they need `store`).
struct AnalyticsConfig {
  std::optional<AbTestsConfig> ab_tests;
  std::optional<DriftConfig> drift;
  std::optional<CohortsConfig> cohorts;
  // Cost of serving one recommendation, exported for the ROI recording rule. Default: 0.
  double cost_per_recommendation = 0;

  bool operator==(const AnalyticsConfig&) const = default;
};

// `queries[].incremental` — count an append-only table exactly, past a watermark.
struct IncrementalQueryConfig {
  // The table whose new rows are read, e.g. orders. Required.
  std::string table;
  // Its bigint key as the query names it, e.g. o.id; the exporter puts the id condition where
  // the query says {filter}. Default: id.
  std::string id_column = "id";

  bool operator==(const IncrementalQueryConfig&) const = default;
};

// `queries[]` — a metric from any read-only SQL, in the sql_exporter manner.
struct QueryConfig {
  // Metric name; the collector is "query/<name>". Required; unique; not a built-in name.
  std::string name;
  // HELP text. Default: "Custom query <name>."
  std::string help;
  // gauge, counter or histogram. Default: gauge.
  std::string type = "gauge";
  // The SQL. Runs in a read-only transaction. Required.
  std::string sql;
  // Result columns exported as labels (NULL gives ""). Default: none.
  std::vector<std::string> labels;
  // Result columns exported as values. Required, at least one.
  std::vector<std::string> values;
  // With several value columns, the label that names the column. Default: column.
  std::string value_label = "column";
  // Labels added to every series. Default: none.
  std::vector<std::pair<std::string, std::string>> static_labels;
  // Default: 1m.
  Duration interval = 1min;
  // Default: 30s.
  Duration timeout = 30s;
  // Series kept per metric; the excess is dropped, counted and logged once. Default: 10000.
  std::int64_t max_series = 10'000;
  // Counts rows added to an append-only table instead of re-reading a gauge. Default: none.
  std::optional<IncrementalQueryConfig> incremental;
  // histogram only: upper bounds of the buckets, ascending, finite (+Inf is implied), and the
  // one column of `values` whose rows are counted into them. Required for a histogram.
  std::vector<double> buckets;

  bool operator==(const QueryConfig&) const = default;
};

// `retraining` — the thresholds and guards of the retraining triggers, exported as gauges
// (thresholds collector) that the shipped rules compare with, so that a team tunes them here
// and by reload instead of editing rule files.
// The numbers of one trigger: per priority (HIGH, MEDIUM, LOW) the value its measure is
// compared with, and its guards (z levels, minimum volumes) by name.
struct TriggerSettings {
  std::map<std::string, double> thresholds;
  std::map<std::string, double> guards;

  bool operator==(const TriggerSettings&) const = default;
};

// The shipped defaults, per trigger name: the product's thresholds (10%, 15%, 50%, 0.3, 1 s)
// and the guards docs/ALERTS.md explains. Only these triggers, priorities and guards exist.
std::map<std::string, TriggerSettings> DefaultRetrainingTriggers();

// `retraining.model_versions.<model_version>` — what differs for one model version.
struct ModelVersionRetrainingConfig {
  // Per trigger, only the thresholds and guards that differ from the defaults.
  std::map<std::string, TriggerSettings> triggers;
  // When the version's training data ends, Unix seconds: NEW_DATA_THRESHOLD counts the
  // outcomes recorded since. Default: none (the endpoint's field, else the version's start).
  std::optional<double> training_data_end;

  bool operator==(const ModelVersionRetrainingConfig&) const = default;
};

struct RetrainingConfig {
  // Every trigger with every threshold and guard. Default: DefaultRetrainingTriggers().
  std::map<std::string, TriggerSettings> triggers = DefaultRetrainingTriggers();
  // Per model version overrides. Default: none.
  std::map<std::string, ModelVersionRetrainingConfig> model_versions;

  bool operator==(const RetrainingConfig&) const = default;
};

struct Config {
  std::optional<StoreConfig> store;
  std::optional<AnalyticsConfig> analytics;
  std::vector<EndpointConfig> endpoints;
  std::vector<RegistryConfig> registries;
  std::vector<QueryConfig> queries;
  // Always present: without a `retraining` section, the shipped defaults.
  RetrainingConfig retraining;

  bool operator==(const Config&) const = default;
};

// Looks up an environment variable; the seam that lets tests run without touching the real
// environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Parses and validates YAML text. On failure the error lists every problem, one per line, as
// "source:line:column: message".
Result<Config> LoadConfigText(std::string_view yaml, const std::string& source,
                              const EnvLookup& env);
// Reads the file, then as LoadConfigText.
Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env);

// Replaces ${VAR} with the variable's value; "$$" stands for a literal "$". The error names
// the variable that is not set.
Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env);

}  // namespace outcomes
