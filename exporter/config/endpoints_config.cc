#include <algorithm>
#include <array>
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
void ReadHttpClient(MapReader& reader, HttpClientConfig& client, ErrorList& errors) {
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
      errors.Add(tls->Mark(), tls->Qualified("cert_file") + ": cert_file and key_file go together");
    }
  }
}

// Checks what HttpClientConfig holds once the whole entry was read.
void ValidateHttpClient(MapReader& reader, const HttpClientConfig& client,
                        std::set<std::string>& names, ErrorList& errors) {
  if (!client.name.empty() && !names.insert(client.name).second) {
    errors.Add(reader.MarkOf("name"),
               reader.Qualified("name") + ": duplicate name \"" + client.name + "\"");
  }
  if (!client.url.empty() && !ValidUrl(client.url)) {
    errors.Add(reader.MarkOf("url"),
               reader.Qualified("url") + ": expected an http:// or https:// URL");
  } else if (!client.url.empty()) {
    // The probe's own parser, so that what passes here is what the collectors accept.
    if (Result<ParsedUrl> url = ParseUrl(client.url); !url.ok()) {
      errors.Add(reader.MarkOf("url"), reader.Qualified("url") + ": " + url.error());
    }
  }
  RequirePositive(reader, "interval", client.interval, errors);
  RequirePositive(reader, "timeout", client.timeout, errors);
  if (!client.bearer_token_file.empty()) {
    std::string error;
    if (!ReadFirstLine(client.bearer_token_file, error)) {
      errors.Add(reader.MarkOf("bearer_token_file"),
                 reader.Qualified("bearer_token_file") + ": " + error);
    }
  }
}

void CheckPointer(MapReader& reader, const std::string& key, const std::string& pointer,
                  ErrorList& errors) {
  if (!pointer.empty() && pointer.front() != '/') {
    errors.Add(reader.MarkOf(key),
               reader.Qualified(key) + ": a JSON Pointer starts with / (e.g. /model/version)");
  }
}

// `values:` of a field: any string key, each mapped to a finite number.
void ReadFieldValues(MapReader& field_reader, EndpointFieldConfig& field, ErrorList& errors,
                     const EnvLookup& env) {
  const YAML::Node values = field_reader.Get("values");
  if (!values.IsDefined() || values.IsNull()) return;
  if (!values.IsMap()) {
    errors.Add(values.Mark(),
               field_reader.Qualified("values") + ": expected a mapping of strings to numbers");
    return;
  }
  MapReader values_reader(values, field_reader.Qualified("values"), errors, env);
  for (const auto& entry : values) {
    const std::string key = entry.first.Scalar();
    double number = std::numeric_limits<double>::quiet_NaN();
    values_reader.Double(key, number);
    if (!std::isnan(number)) field.values[key] = number;
  }
}

std::vector<EndpointFieldConfig> ReadFields(MapReader& reader, ErrorList& errors,
                                            const EnvLookup& env) {
  std::vector<EndpointFieldConfig> out;
  const YAML::Node fields = reader.Get("fields");
  if (!fields.IsDefined() || fields.IsNull()) return out;
  if (!fields.IsSequence()) {
    errors.Add(fields.Mark(), reader.Qualified("fields") + ": expected a list");
    return out;
  }
  for (std::size_t k = 0; k < fields.size(); ++k) {
    EndpointFieldConfig field;
    MapReader field_reader(fields[k], reader.Qualified("fields") + "[" + std::to_string(k) + "]",
                           errors, env);
    field_reader.String("metric", field.metric, /*required=*/true);
    field_reader.String("pointer", field.pointer, /*required=*/true);
    field_reader.String("help", field.help);
    ReadFieldValues(field_reader, field, errors, env);
    field_reader.RejectUnknownKeys();
    if (!field.metric.empty() && !ValidMetricName(field.metric)) {
      errors.Add(field_reader.MarkOf("metric"),
                 field_reader.Qualified("metric") + ": \"" + field.metric +
                     "\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
    } else if (IsReservedMetricName(field.metric)) {
      errors.Add(field_reader.MarkOf("metric"), field_reader.Qualified("metric") + ": \"" +
                                                    field.metric +
                                                    "\" collides with a built-in metric");
    }
    CheckPointer(field_reader, "pointer", field.pointer, errors);
    out.push_back(std::move(field));
  }
  return out;
}

// `expect:` of an endpoint: a list of {pointer, equals}.
std::vector<EndpointExpectConfig> ReadExpectations(MapReader& reader, ErrorList& errors,
                                                   const EnvLookup& env) {
  std::vector<EndpointExpectConfig> out;
  const YAML::Node list = reader.Get("expect");
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    errors.Add(list.Mark(), reader.Qualified("expect") + ": expected a list");
    return out;
  }
  for (std::size_t k = 0; k < list.size(); ++k) {
    EndpointExpectConfig expect;
    MapReader item(list[k], reader.Qualified("expect") + "[" + std::to_string(k) + "]", errors,
                   env);
    item.String("pointer", expect.pointer, /*required=*/true);
    if (const YAML::Node equals = item.Get("equals"); equals.IsDefined()) {
      if (equals.IsScalar() || equals.IsNull()) {
        expect.equals = equals.IsNull() ? "null" : equals.Scalar();
      } else {
        errors.Add(equals.Mark(), item.Qualified("equals") + ": expected a single value");
      }
    }
    item.RejectUnknownKeys();
    CheckPointer(item, "pointer", expect.pointer, errors);
    out.push_back(std::move(expect));
  }
  return out;
}

// A body goes with POST only, inline or from a file, and the file is read now.
void ValidateRequestBody(MapReader& reader, EndpointConfig& endpoint, ErrorList& errors) {
  if (!endpoint.body.empty() && !endpoint.body_file.empty()) {
    errors.Add(reader.MarkOf("body_file"),
               reader.Qualified("body_file") + ": give body or body_file, not both");
    return;
  }
  if (!endpoint.body_file.empty()) {
    std::ifstream file(endpoint.body_file, std::ios::binary);
    if (!file) {
      errors.Add(reader.MarkOf("body_file"),
                 reader.Qualified("body_file") + ": cannot read \"" + endpoint.body_file + "\"");
      return;
    }
    endpoint.body.assign(std::istreambuf_iterator<char>(file), {});
  }
  if ((!endpoint.body.empty() || !endpoint.body_file.empty()) && endpoint.method != "POST") {
    errors.Add(reader.MarkOf("method"),
               reader.Qualified("method") + ": a request body needs method POST");
  }
}

}  // namespace

std::vector<EndpointConfig> ReadEndpoints(const YAML::Node& node, ErrorList& errors,
                                          const EnvLookup& env) {
  std::set<std::string> names;
  return ReadList<EndpointConfig>(
      node, "endpoints", errors, env, [&](MapReader& reader, EndpointConfig& endpoint) {
        ReadHttpClient(reader, endpoint, errors);
        reader.String("method", endpoint.method);
        reader.String("body", endpoint.body);
        reader.String("body_file", endpoint.body_file);
        endpoint.expect = ReadExpectations(reader, errors, env);
        reader.IntList("valid_status_codes", endpoint.valid_status_codes);
        reader.Int64("max_body_bytes", endpoint.max_body_bytes);
        reader.BucketList("buckets", endpoint.buckets);
        if (auto model_info = reader.Nested("model_info")) {
          model_info->String("model_name", endpoint.model_name_pointer);
          model_info->String("model_version", endpoint.model_version_pointer);
          model_info->String("stage", endpoint.stage_pointer);
          model_info->RejectUnknownKeys();
          CheckPointer(*model_info, "model_name", endpoint.model_name_pointer, errors);
          CheckPointer(*model_info, "model_version", endpoint.model_version_pointer, errors);
          CheckPointer(*model_info, "stage", endpoint.stage_pointer, errors);
        }
        endpoint.fields = ReadFields(reader, errors, env);
        if (!reader.valid()) return;
        ValidateHttpClient(reader, endpoint, names, errors);
        if (endpoint.method != "GET" && endpoint.method != "HEAD" && endpoint.method != "POST") {
          errors.Add(reader.MarkOf("method"),
                     reader.Qualified("method") + ": want GET, HEAD or POST");
        }
        ValidateRequestBody(reader, endpoint, errors);
        if (endpoint.max_body_bytes <= 0) {
          errors.Add(reader.MarkOf("max_body_bytes"),
                     reader.Qualified("max_body_bytes") + ": must be greater than 0");
        }
        const auto& buckets = endpoint.buckets;
        if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
            std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()) {
          errors.Add(
              reader.MarkOf("buckets"),
              reader.Qualified("buckets") + ": must be a non-empty, strictly ascending list");
        }
      });
}

std::vector<RegistryConfig> ReadRegistries(const YAML::Node& node, ErrorList& errors,
                                           const EnvLookup& env) {
  std::set<std::string> names;
  return ReadList<RegistryConfig>(
      node, "registries", errors, env, [&](MapReader& reader, RegistryConfig& registry) {
        ReadHttpClient(reader, registry, errors);
        reader.StringList("models", registry.models);
        reader.StringList("stages", registry.stages);
        reader.String("champion_alias", registry.champion_alias);
        if (!reader.valid()) return;
        ValidateHttpClient(reader, registry, names, errors);
        if (registry.models.empty()) {
          errors.Add(reader.MarkOf("models"),
                     reader.Qualified("models") + ": list at least one registered model");
        }
        if (registry.champion_alias.empty()) {
          errors.Add(reader.MarkOf("champion_alias"),
                     reader.Qualified("champion_alias") + ": must not be empty");
        }
      });
}

}  // namespace outcomes
