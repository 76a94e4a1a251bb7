#include "exporter/config/endpoints_config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include "exporter/config/metric_names.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"
#include "exporter/probe/http_probe.h"

namespace outcomes {
namespace {

bool ValidUrl(const std::string& url) {
  constexpr std::array<std::string_view, 2> kSchemes = {"http://", "https://"};
  return std::ranges::any_of(kSchemes, [&url](std::string_view scheme) {
    return url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != '/';
  });
}

// The fields every HTTP client shares; call before reading the kind's own fields.
void ReadHttpClient(MapReader& reader, HttpClientConfig& client) {
  reader.String("name", client.name, /*required=*/true);
  reader.String("url", client.url, /*required=*/true);
  reader.StringMap("headers", client.headers);
  reader.String("bearer_token_file", client.bearer_token_file);
  reader.DurationField("interval", client.interval);
  reader.DurationField("timeout", client.timeout);
  if (auto tls = reader.Nested("tls")) {
    tls->String("ca_file", client.tls.ca_file);
    tls->String("cert_file", client.tls.cert_file);
    tls->String("key_file", client.tls.key_file);
    tls->String("server_name", client.tls.server_name);
    tls->Bool("insecure_skip_verify", client.tls.insecure_skip_verify);
    tls->RejectUnknownKeys();
    if (client.tls.cert_file.empty() != client.tls.key_file.empty()) {
      tls->errors().Add(tls->Mark(),
                        tls->Qualified("cert_file") + ": cert_file and key_file go together");
    }
  }
}

// Checks what HttpClientConfig holds once the whole entry was read.
void ValidateHttpClient(MapReader& reader, const HttpClientConfig& client,
                        std::set<std::string>& names) {
  if (!client.name.empty() && !names.insert(client.name).second) {
    reader.Error("name", "duplicate name \"" + client.name + "\"");
  }
  if (!client.url.empty() && !ValidUrl(client.url)) {
    reader.Error("url", "expected an http:// or https:// URL");
  } else if (!client.url.empty()) {
    // The probe's own parser, so that what passes here is what the collectors accept.
    if (Result<ParsedUrl> url = ParseUrl(client.url); !url.ok()) reader.Error("url", url.error());
  }
  RequirePositive(reader, "interval", client.interval);
  RequirePositive(reader, "timeout", client.timeout);
  if (!client.bearer_token_file.empty()) {
    std::string error;
    if (!ReadFirstLine(client.bearer_token_file, error)) reader.Error("bearer_token_file", error);
  }
}

void CheckPointer(MapReader& reader, const std::string& key, const std::string& pointer) {
  if (!pointer.empty() && pointer.front() != '/') {
    reader.Error(key, "a JSON Pointer starts with / (e.g. /model/version)");
  }
}

// `values:` of a field: any string key, each mapped to a finite number.
void ReadFieldValues(MapReader& field_reader, EndpointFieldConfig& field) {
  const YAML::Node values = field_reader.Get("values");
  if (!values.IsDefined() || values.IsNull()) return;
  if (!values.IsMap()) {
    field_reader.Error("values", "expected a mapping of strings to numbers");
    return;
  }
  std::optional<MapReader> values_reader = field_reader.Nested("values");
  for (const auto& entry : values) {
    const std::string key = entry.first.Scalar();
    double number = std::numeric_limits<double>::quiet_NaN();
    values_reader->Double(key, number);
    if (!std::isnan(number)) field.values[key] = number;
  }
}

void ReadField(MapReader& reader, EndpointFieldConfig& field) {
  reader.String("metric", field.metric, /*required=*/true);
  reader.String("pointer", field.pointer, /*required=*/true);
  reader.String("help", field.help);
  ReadFieldValues(reader, field);
  if (std::string problem = UserMetricNameProblem(field.metric); !problem.empty()) {
    reader.Error("metric", problem);
  }
  CheckPointer(reader, "pointer", field.pointer);
}

// One entry of `expect:`: {pointer, equals}.
void ReadExpectation(MapReader& item, EndpointExpectConfig& expect) {
  item.String("pointer", expect.pointer, /*required=*/true);
  if (const YAML::Node equals = item.Get("equals"); equals.IsDefined()) {
    if (equals.IsScalar() || equals.IsNull()) {
      expect.equals = equals.IsNull() ? "null" : equals.Scalar();
    } else {
      item.errors().Add(equals.Mark(), item.Qualified("equals") + ": expected a single value");
    }
  }
  CheckPointer(item, "pointer", expect.pointer);
}

// A body goes with POST only, inline or from a file, and the file is read now.
void ValidateRequestBody(MapReader& reader, EndpointConfig& endpoint) {
  if (!endpoint.body.empty() && !endpoint.body_file.empty()) {
    reader.Error("body_file", "give body or body_file, not both");
    return;
  }
  if (!endpoint.body_file.empty()) {
    std::ifstream file(endpoint.body_file, std::ios::binary);
    if (!file) {
      reader.Error("body_file", "cannot read \"" + endpoint.body_file + "\"");
      return;
    }
    endpoint.body.assign(std::istreambuf_iterator<char>(file), {});
  }
  if ((!endpoint.body.empty() || !endpoint.body_file.empty()) && endpoint.method != "POST") {
    reader.Error("method", "a request body needs method POST");
  }
}

void ReadModelInfo(MapReader& reader, EndpointConfig& endpoint) {
  auto model_info = reader.Nested("model_info");
  if (!model_info) return;
  model_info->String("model_name", endpoint.model_name_pointer);
  model_info->String("model_version", endpoint.model_version_pointer);
  model_info->String("stage", endpoint.stage_pointer);
  model_info->RejectUnknownKeys();
  CheckPointer(*model_info, "model_name", endpoint.model_name_pointer);
  CheckPointer(*model_info, "model_version", endpoint.model_version_pointer);
  CheckPointer(*model_info, "stage", endpoint.stage_pointer);
}

void ReadEndpointFields(MapReader& reader, EndpointConfig& endpoint) {
  ReadHttpClient(reader, endpoint);
  reader.String("method", endpoint.method);
  reader.String("body", endpoint.body);
  reader.String("body_file", endpoint.body_file);
  endpoint.expect = reader.List<EndpointExpectConfig>("expect", ReadExpectation);
  reader.IntList("valid_status_codes", endpoint.valid_status_codes);
  reader.Int64("max_body_bytes", endpoint.max_body_bytes);
  reader.BucketList("buckets", endpoint.buckets);
  ReadModelInfo(reader, endpoint);
  endpoint.fields = reader.List<EndpointFieldConfig>("fields", ReadField);
}

void ValidateEndpoint(MapReader& reader, EndpointConfig& endpoint, std::set<std::string>& names) {
  ValidateHttpClient(reader, endpoint, names);
  if (endpoint.method != "GET" && endpoint.method != "HEAD" && endpoint.method != "POST") {
    reader.Error("method", "want GET, HEAD or POST");
  }
  ValidateRequestBody(reader, endpoint);
  if (endpoint.max_body_bytes <= 0) reader.Error("max_body_bytes", "must be greater than 0");
  const auto& buckets = endpoint.buckets;
  if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
      std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()) {
    reader.Error("buckets", "must be a non-empty, strictly ascending list");
  }
}

}  // namespace

std::vector<EndpointConfig> ReadEndpoints(MapReader& root) {
  std::set<std::string> names;
  return root.List<EndpointConfig>("endpoints", [&](MapReader& reader, EndpointConfig& endpoint) {
    ReadEndpointFields(reader, endpoint);
    if (reader.valid()) ValidateEndpoint(reader, endpoint, names);
  });
}

std::vector<RegistryConfig> ReadRegistries(MapReader& root) {
  std::set<std::string> names;
  return root.List<RegistryConfig>("registries", [&](MapReader& reader, RegistryConfig& registry) {
    ReadHttpClient(reader, registry);
    reader.StringList("models", registry.models);
    reader.StringList("stages", registry.stages);
    reader.String("champion_alias", registry.champion_alias);
    if (!reader.valid()) return;
    ValidateHttpClient(reader, registry, names);
    if (registry.models.empty()) reader.Error("models", "list at least one registered model");
    if (registry.champion_alias.empty()) reader.Error("champion_alias", "must not be empty");
  });
}

}  // namespace outcomes
