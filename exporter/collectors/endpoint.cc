#include "exporter/collectors/endpoint.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

using prometheus::MetricType;

constexpr std::array<std::string_view, 3> kNonFiniteLiterals = {"-Infinity", "Infinity", "NaN"};

// The length of the number token at the start of `text` (JSON's characters, loosely), or 0.
std::size_t NumberTokenLength(std::string_view text) {
  if (text.empty() || !(text[0] == '-' || std::isdigit(static_cast<unsigned char>(text[0])))) {
    return 0;
  }
  return std::min(text.size(), text.find_first_not_of("0123456789+-.eE"));
}

// A number, or one of the literals, that a double cannot hold: NaN, +/-infinity, 1e999.
bool IsNonFiniteNumber(const std::string& text) {
  if (std::find(kNonFiniteLiterals.begin(), kNonFiniteLiterals.end(), text) !=
      kNonFiniteLiterals.end()) {
    return true;
  }
  if (text.empty() || NumberTokenLength(text) != text.size()) return false;
  char* end = nullptr;
  return std::isinf(std::strtod(text.c_str(), &end)) && *end == '\0';
}

// Python's json, Jackson and others write NaN, Infinity and -Infinity as bare tokens, which
// JSON does not allow, and nlohmann::json refuses numbers that overflow a double (1e999).
// Turned into strings, such values fail only the field that holds them instead of the whole
// body. Only used on a body that is not valid JSON as it is.
std::string QuoteNonFiniteNumbers(const std::string& body) {
  std::string out;
  out.reserve(body.size() + 16);
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < body.size()) {
        out += body[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    const std::string_view rest = std::string_view{body}.substr(i);
    std::size_t length = NumberTokenLength(rest);
    const auto* const literal =
        std::find_if(kNonFiniteLiterals.begin(), kNonFiniteLiterals.end(),
                     [&](std::string_view l) { return rest.starts_with(l); });
    if (literal != kNonFiniteLiterals.end()) length = literal->size();
    if (length == 0) {
      out += c;
      continue;
    }
    const std::string token(rest.substr(0, length));
    out += IsNonFiniteNumber(token) ? '"' + token + '"' : token;
    i += length - 1;
  }
  return out;
}

// Why `value` cannot be exported as a sample, or empty when it can.
std::string NumberProblem(const nlohmann::json& value) {
  if (value.is_number()) return "";
  if (value.is_string() && IsNonFiniteNumber(value.get_ref<const std::string&>())) {
    return "not a finite number (" + value.get<std::string>() + ")";
  }
  return "not a number";
}

// Whether a JSON value equals a configured scalar: strings as text, numbers by value, the
// literals by name; objects and arrays by their compact JSON.
bool JsonEquals(const nlohmann::json& value, const std::string& expected) {
  if (value.is_string()) return value.get_ref<const std::string&>() == expected;
  if (value.is_number()) {
    char* end = nullptr;
    const double number = std::strtod(expected.c_str(), &end);
    return !expected.empty() && *end == '\0' && number == value.get<double>();
  }
  return value.dump() == expected;
}

// The number a field's `values` gives a string or a boolean, if it gives one.
std::optional<double> MappedValue(const EndpointFieldConfig& field, const nlohmann::json& value) {
  if (field.values.empty()) return std::nullopt;
  std::string key;
  if (value.is_string()) {
    key = value.get<std::string>();
  } else if (value.is_boolean()) {
    key = value.get<bool>() ? "true" : "false";
  } else {
    return std::nullopt;
  }
  const auto it = field.values.find(key);
  if (it == field.values.end()) return std::nullopt;
  return it->second;
}

// The probe-duration histogram from per-bucket (not cumulative) counts.
prometheus::MetricFamily DurationHistogram(const std::string& endpoint,
                                           const std::vector<double>& bounds,
                                           const std::vector<std::uint64_t>& bucket_counts,
                                           std::uint64_t count, double sum) {
  auto family = MakeFamily("model_endpoint_probe_duration_seconds",
                           "Duration of the endpoint's probes, from connect to the last byte.",
                           MetricType::Histogram);
  prometheus::ClientMetric histogram;
  histogram.label = {{"endpoint", endpoint}};
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += bucket_counts[i];
    histogram.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  histogram.histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
  histogram.histogram.sample_count = count;
  histogram.histogram.sample_sum = sum;
  family.metric.push_back(std::move(histogram));
  return family;
}

}  // namespace

Result<std::shared_ptr<EndpointCollector>> EndpointCollector::Create(const EndpointConfig& config,
                                                                     HttpCollectorDeps deps) {
  Result<HttpClient> client = MakeHttpClient(config, "endpoint " + config.name, deps.log);
  if (!client.ok()) return client.status();
  return std::shared_ptr<EndpointCollector>(
      new EndpointCollector(config, client.value(), std::move(deps)));
}

EndpointCollector::EndpointCollector(const EndpointConfig& config, HttpClient client,
                                     HttpCollectorDeps deps)
    : WithSettings(config, "endpoint", config, std::move(client), deps.log),
      deps_(std::move(deps)),
      bucket_counts_(config_.buckets.size(), 0) {}

bool EndpointCollector::ValidStatus(int code) const {
  if (config_.valid_status_codes.empty()) return code >= 200 && code < 300;
  return std::find(config_.valid_status_codes.begin(), config_.valid_status_codes.end(), code) !=
         config_.valid_status_codes.end();
}

void EndpointCollector::CollectAsync(boost::asio::io_context& io,
                                     std::function<void(CollectOutput)> done) {
  ProbeRequest request = MakeRequest(config_, client_);
  request.method = config_.method;
  request.body = config_.body;
  request.max_body_bytes = static_cast<std::size_t>(config_.max_body_bytes);
  deps_.transport->Start(io, std::move(request),
                         [self = shared_from_this(), done = std::move(done)](
                             ProbeResponse response) { done(self->Record(std::move(response))); });
}

CollectOutput EndpointCollector::Record(ProbeResponse response) {
  ++probe_count_;
  probe_seconds_sum_ += response.seconds;
  for (std::size_t i = 0; i < config_.buckets.size(); ++i) {
    if (response.seconds <= config_.buckets[i]) {
      ++bucket_counts_[i];
      break;
    }
  }
  status_code_ = response.status_code;
  if (response.tls_not_after_seconds) tls_not_after_seconds_ = response.tls_not_after_seconds;
  if (response.failure == ProbeFailure::kNone && !ValidStatus(response.status_code)) {
    response.failure = ProbeFailure::kHttpStatus;
    response.error = "unexpected HTTP status " + std::to_string(response.status_code);
  }
  const bool wants_json = !config_.fields.empty() || !config_.expect.empty() ||
                          !config_.model_name_pointer.empty() ||
                          !config_.model_version_pointer.empty() || !config_.stage_pointer.empty();
  std::vector<std::string> problems;
  if (response.failure == ProbeFailure::kNone && wants_json) {
    if (!nlohmann::json::accept(response.body)) {
      response.body = QuoteNonFiniteNumbers(response.body);
    }
    if (!nlohmann::json::accept(response.body)) {
      response.failure = ProbeFailure::kParse;
      response.error = "response body is not valid JSON";
    } else if (std::string unmet = UnmetExpectation(response.body); !unmet.empty()) {
      response.failure = ProbeFailure::kUnexpectedBody;
      response.error = std::move(unmet);
    } else {
      problems = Extract(response.body);
    }
  }
  CollectOutput output;
  up_ = response.failure == ProbeFailure::kNone;
  if (up_) {
    last_success_seconds_ =
        std::chrono::duration<double>(deps_.wall_now().time_since_epoch()).count();
    if (!problems.empty()) {
      ++extraction_errors_;
      std::string joined;
      for (const std::string& problem : problems) joined += (joined.empty() ? "" : "; ") + problem;
      if (joined != last_extraction_problem_) {
        deps_.log.Warn("cannot read fields from the endpoint's response",
                       {{"endpoint", config_.name}, {"err", joined}});
      }
      last_extraction_problem_ = joined;
    } else {
      last_extraction_problem_.clear();
    }
  } else {
    ++failures_[response.failure];
    output.status = Status::Error(ErrorPrefix() + response.error + " (reason " +
                                  ProbeFailureName(response.failure) + ")");
  }
  output.families = BuildFamilies();
  return output;
}

std::string EndpointCollector::UnmetExpectation(const std::string& body) const {
  if (config_.expect.empty()) return "";
  const nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  for (const EndpointExpectConfig& expect : config_.expect) {
    const nlohmann::json* value = nullptr;
    try {
      const nlohmann::json::json_pointer pointer(expect.pointer);
      if (document.contains(pointer)) value = &document.at(pointer);
    } catch (const nlohmann::json::exception&) {
      // An array index that is not a number: the pointer names nothing in this body.
    }
    if (value == nullptr) return "expected " + expect.pointer + " in the response, not found";
    if (expect.equals && !JsonEquals(*value, *expect.equals)) {
      return "expected " + expect.pointer + " to equal " + *expect.equals + ", got " +
             value->dump();
    }
  }
  return "";
}

std::vector<std::string> EndpointCollector::Extract(const std::string& body) {
  std::vector<std::string> problems;
  const nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const auto lookup = [&](const std::string& pointer) -> const nlohmann::json* {
    try {
      const nlohmann::json::json_pointer parsed(pointer);
      if (!document.contains(parsed)) {
        problems.push_back(pointer + ": not found");
        return nullptr;
      }
      return &document.at(parsed);
    } catch (const nlohmann::json::exception& e) {
      problems.push_back(pointer + ": " + e.what());
      return nullptr;
    }
  };
  if (!config_.model_name_pointer.empty() || !config_.model_version_pointer.empty() ||
      !config_.stage_pointer.empty()) {
    std::array<std::string, 3> info;
    const std::array<const std::string*, 3> pointers = {
        &config_.model_name_pointer, &config_.model_version_pointer, &config_.stage_pointer};
    for (std::size_t i = 0; i < pointers.size(); ++i) {
      if (pointers[i]->empty()) continue;
      if (const nlohmann::json* value = lookup(*pointers[i])) {
        info[i] = value->is_string() ? value->get<std::string>() : value->dump();
      }
    }
    model_info_ = info;
  }
  for (const EndpointFieldConfig& field : config_.fields) {
    const nlohmann::json* value = lookup(field.pointer);
    if (value == nullptr) {
      field_values_.erase(field.metric);
    } else if (std::optional<double> mapped = MappedValue(field, *value)) {
      field_values_[field.metric] = *mapped;
    } else if (!field.values.empty() && (value->is_string() || value->is_boolean())) {
      problems.push_back(field.pointer + ": " + value->dump() +
                         " is not one of the field's values");
      field_values_.erase(field.metric);
    } else if (const std::string problem = NumberProblem(*value); !problem.empty()) {
      problems.push_back(field.pointer + ": " + problem);
      field_values_.erase(field.metric);
    } else {
      field_values_[field.metric] = value->get<double>();
    }
  }
  return problems;
}

std::vector<prometheus::MetricFamily> EndpointCollector::BuildFamilies() const {
  std::vector<prometheus::MetricFamily> families;
  AddProbeFamilies(families);
  AddBodyFamilies(families);
  return families;
}

void EndpointCollector::AddProbeFamilies(std::vector<prometheus::MetricFamily>& families) const {
  const Labels endpoint = {{"endpoint", config_.name}};
  auto up = MakeFamily("model_endpoint_up", "1 when the endpoint's last probe succeeded.",
                       MetricType::Gauge);
  AddSample(up, endpoint, up_ ? 1 : 0);
  families.push_back(std::move(up));

  families.push_back(DurationHistogram(config_.name, config_.buckets, bucket_counts_, probe_count_,
                                       probe_seconds_sum_));

  auto status = MakeFamily("model_endpoint_http_status_code",
                           "HTTP status code of the endpoint's last probe (0 without a response).",
                           MetricType::Gauge);
  AddSample(status, endpoint, status_code_);
  families.push_back(std::move(status));

  auto last_success = MakeFamily("model_endpoint_last_success_timestamp_seconds",
                                 "When the endpoint's last successful probe ended (0 if never).",
                                 MetricType::Gauge);
  AddSample(last_success, endpoint, last_success_seconds_);
  families.push_back(std::move(last_success));

  if (tls_not_after_seconds_) {
    auto expiry = MakeFamily("model_endpoint_tls_cert_expiry_timestamp_seconds",
                             "When the first certificate of the chain the endpoint presented "
                             "expires (earliest notAfter), Unix seconds.",
                             MetricType::Gauge);
    AddSample(expiry, endpoint, *tls_not_after_seconds_);
    families.push_back(std::move(expiry));
  }

  auto failures = MakeFamily("model_endpoint_probe_failures_total",
                             "Failed probes by reason: timeout, connect, tls, http_status, "
                             "body_too_large, parse, unexpected_body.",
                             MetricType::Counter);
  for (const ProbeFailure reason : AllProbeFailures()) {
    const auto it = failures_.find(reason);
    AddSample(failures, {{"endpoint", config_.name}, {"reason", ProbeFailureName(reason)}},
              it == failures_.end() ? 0 : static_cast<double>(it->second));
  }
  families.push_back(std::move(failures));

  auto extraction = MakeFamily("model_endpoint_extraction_errors_total",
                               "Successful probes whose JSON lacked a configured pointer or held "
                               "something else than a finite number where one was expected.",
                               MetricType::Counter);
  AddSample(extraction, endpoint, static_cast<double>(extraction_errors_));
  families.push_back(std::move(extraction));
}

void EndpointCollector::AddBodyFamilies(std::vector<prometheus::MetricFamily>& families) const {
  if (model_info_) {
    auto info =
        MakeFamily("model_info", "Model served by the endpoint, as last reported by it (value 1).",
                   MetricType::Gauge);
    AddSample(info,
              {{"endpoint", config_.name},
               {"model_name", (*model_info_)[0]},
               {"model_version", (*model_info_)[1]},
               {"stage", (*model_info_)[2]}},
              1);
    families.push_back(std::move(info));
  }
  for (const EndpointFieldConfig& field : config_.fields) {
    const auto it = field_values_.find(field.metric);
    if (it == field_values_.end()) continue;
    auto family =
        MakeFamily(field.metric,
                   field.help.empty() ? "Value of " + field.pointer + " in the endpoint's response."
                                      : field.help,
                   MetricType::Gauge);
    AddSample(family, {{"endpoint", config_.name}}, it->second);
    families.push_back(std::move(family));
  }
}

void AddEndpointCollectors(const Config& config, CollectorContext& context, CollectorSet& out) {
  for (const auto& entry : config.endpoints)
    out.AddOrFail(EndpointCollector::Create(entry, context.log));
}

}  // namespace outcomes
