// `endpoints:` and `registries:` of the config file: the outgoing HTTP clients. Plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/core/duration.h"

namespace outcomes {

using namespace std::chrono_literals;

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

}  // namespace outcomes
