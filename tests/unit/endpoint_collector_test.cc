// The model endpoint collector ("endpoint/<name>") on the fake transport and the fake clock:
// model_info, fields and value maps, expect checks, POST bodies, certificate expiry, empty,
// null and malformed bodies, and every failure reason (refused, timeout, tls, status, size,
// parse, unexpected body). The real client and server: tests/integration/
// endpoint_collector_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exporter/collectors/endpoint.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/fake_transport.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUrl = "http://reco-api:8080/health";
constexpr const char* kHealthyBody = R"({
  "model": {"name": "reco-ranker", "version": "v1.2.0", "stage": "Production"},
  "status": "ok", "ready": true,
  "metrics": {"accuracy": 0.912, "drift_score": 0.07}
})";

// The count and the sum of the endpoint's probe-duration histogram.
std::pair<std::uint64_t, double> Durations(const std::vector<prometheus::MetricFamily>& families) {
  const prometheus::MetricFamily* family =
      FindFamily(families, "model_endpoint_probe_duration_seconds");
  if (family == nullptr || family->metric.empty()) return {0, -1};
  const auto& histogram = family->metric[0].histogram;
  return {histogram.sample_count, histogram.sample_sum};
}

std::optional<double> Failures(const CollectOutput& output, const std::string& reason) {
  return Sample(output.families, "model_endpoint_probe_failures_total",
                {{"endpoint", "reco-api"}, {"reason", reason}});
}

std::optional<double> Value(const CollectOutput& output, const std::string& name) {
  return Sample(output.families, name, {{"endpoint", "reco-api"}});
}

class EndpointOnFakeTransportTest : public ::testing::Test {
 protected:
  static EndpointConfig Config(const std::string& url = kUrl) {
    EndpointConfig config;
    config.name = "reco-api";
    config.url = url;
    config.timeout = 500ms;
    return config;
  }

  std::shared_ptr<EndpointCollector> Make(const EndpointConfig& config) {
    auto collector =
        EndpointCollector::Create(config, FakeTransport::Deps(log_, transport_, &clock_));
    EXPECT_TRUE(collector.ok()) << collector.error();
    return collector.ok() ? collector.value() : nullptr;
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  FakeClock clock_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>(&clock_);
};

TEST_F(EndpointOnFakeTransportTest, UpEndpointExportsModelInfoAndFields) {
  EndpointConfig config = Config();
  config.model_name_pointer = "/model/name";
  config.model_version_pointer = "/model/version";
  config.stage_pointer = "/model/stage";
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "", {}}};
  transport_->ReplyJson(kUrl, kHealthyBody);
  const auto collector = Make(config);
  const CollectOutput output = CollectOnce(*collector);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(collector->name(), "endpoint/reco-api");
  EXPECT_EQ(Value(output, "model_endpoint_up"), 1);
  EXPECT_EQ(Value(output, "model_endpoint_http_status_code"), 200);
  EXPECT_EQ(Sample(output.families, "model_info",
                   {{"endpoint", "reco-api"},
                    {"model_name", "reco-ranker"},
                    {"model_version", "v1.2.0"},
                    {"stage", "Production"}}),
            1);
  EXPECT_EQ(Value(output, "model_accuracy_ratio"), 0.912);
  EXPECT_EQ(Value(output, "model_endpoint_extraction_errors_total"), 0);
  // The exchange took the fake's 20ms, on the fake clock that dates the success.
  EXPECT_EQ(Durations(output.families), std::make_pair(std::uint64_t{1}, 0.02));
  EXPECT_EQ(Value(output, "model_endpoint_last_success_timestamp_seconds"),
            static_cast<double>(FakeClock::kStartWall.count()) + 0.02);
  EXPECT_EQ(FindFamily(output.families, "model_endpoint_tls_cert_expiry_timestamp_seconds"),
            nullptr);
}

TEST_F(EndpointOnFakeTransportTest, SendsTheConfiguredRequest) {
  EndpointConfig config = Config();
  config.headers = {{"X-Team", "ranking"}};
  config.max_body_bytes = 4096;
  transport_->ReplyJson(kUrl, "{}");
  ASSERT_TRUE(CollectOnce(*Make(config)).status.ok());
  const std::vector<RecordedRequest> requests = transport_->requests(kUrl);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].body, "");
  EXPECT_EQ(requests[0].headers, (HttpHeaders{{"X-Team", "ranking"}}));
  EXPECT_EQ(requests[0].timeout, 500ms);
  EXPECT_EQ(requests[0].max_body_bytes, 4096u);
  EXPECT_FALSE(requests[0].has_tls_context);
}

TEST_F(EndpointOnFakeTransportTest, PostsTheConfiguredBody) {
  EndpointConfig config = Config("http://reco-api:8080/predict");
  config.method = "POST";
  config.body = R"({"user_id": "u-42"})";
  config.headers = {{"Content-Type", "application/vnd.reco+json"}};
  transport_->ReplyJson("http://reco-api:8080/predict", R"({"predictions": [{"score": 0.87}]})");
  ASSERT_TRUE(CollectOnce(*Make(config)).status.ok());
  const RecordedRequest request = transport_->requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.body, R"({"user_id": "u-42"})");
  EXPECT_EQ(request.headers, (HttpHeaders{{"Content-Type", "application/vnd.reco+json"}}));
}

TEST_F(EndpointOnFakeTransportTest, TheBearerTokenIsReadAgainForEveryProbe) {
  const std::filesystem::path token =
      std::filesystem::path(::testing::TempDir()) / "endpoint_unit_token";
  std::ofstream(token) << "first\n";
  EndpointConfig config = Config();
  config.bearer_token_file = token.string();
  const auto collector = Make(config);
  CollectOnce(*collector);
  std::ofstream(token) << "rotated\n";
  CollectOnce(*collector);
  std::filesystem::remove(token);
  const std::vector<RecordedRequest> requests = transport_->requests(kUrl);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers, (HttpHeaders{{"Authorization", "Bearer first"}}));
  EXPECT_EQ(requests[1].headers, (HttpHeaders{{"Authorization", "Bearer rotated"}}));
}

TEST_F(EndpointOnFakeTransportTest, FieldValuesMapStringsAndBooleansToNumbers) {
  EndpointConfig config = Config();
  config.fields = {{"model_status_ok", "/status", "", {{"ok", 1}, {"degraded", 0.5}}},
                   {"model_ready", "/ready", "", {{"true", 1}, {"false", 0}}},
                   {"model_status_degraded", "/status", "", {{"degraded", 1}}},
                   {"model_accuracy_ratio", "/metrics/accuracy", "", {{"high", 1}}}};
  transport_->ReplyJson(kUrl, kHealthyBody);
  const CollectOutput output = CollectOnce(*Make(config));
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "model_status_ok"), 1);
  EXPECT_EQ(Value(output, "model_ready"), 1);
  // A number stays a number; a string the map does not know is an extraction error.
  EXPECT_EQ(Value(output, "model_accuracy_ratio"), 0.912);
  EXPECT_EQ(Value(output, "model_status_degraded"), std::nullopt);
  EXPECT_EQ(Value(output, "model_endpoint_extraction_errors_total"), 1);
  EXPECT_NE(log_text_.str().find("/status: \\\"ok\\\" is not one of the field's values"),
            std::string::npos)
      << log_text_.str();
}

TEST_F(EndpointOnFakeTransportTest, MetExpectationsKeepTheEndpointUp) {
  EndpointConfig config = Config();
  config.expect = {{"/metrics/accuracy", std::nullopt},
                   {"/metrics/accuracy", "0.912"},
                   {"/status", "ok"},
                   {"/ready", "true"}};
  transport_->ReplyJson(kUrl, kHealthyBody);
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "model_endpoint_up"), 1);
}

TEST_F(EndpointOnFakeTransportTest, AnUnmetExpectationIsAnUnexpectedBody) {
  EndpointConfig config = Config();
  config.expect = {{"/status", "ok"}, {"/model/stage", "Staging"}};
  transport_->ReplyJson(kUrl, kHealthyBody);
  const auto collector = Make(config);
  CollectOutput output = CollectOnce(*collector);
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: expected /model/stage to equal Staging, got \"Production\" "
            "(reason unexpected_body)");
  EXPECT_EQ(Failures(output, "unexpected_body"), 1);
  EXPECT_EQ(Value(output, "model_endpoint_up"), 0);
  // 200 is still the status the endpoint answered.
  EXPECT_EQ(Value(output, "model_endpoint_http_status_code"), 200);

  transport_->ReplyJson(kUrl, R"({"status": "ok"})");
  output = CollectOnce(*collector);
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: expected /model/stage in the response, not found "
            "(reason unexpected_body)");
  EXPECT_EQ(Failures(output, "unexpected_body"), 2);
}

TEST_F(EndpointOnFakeTransportTest, AnEmptyBodyIsUpWhenNothingIsReadFromIt) {
  transport_->Reply(kUrl, FakeReply{});
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "model_endpoint_up"), 1);
}

TEST_F(EndpointOnFakeTransportTest, AnEmptyBodyIsAParseFailureWhenFieldsAreRead) {
  EndpointConfig config = Config();
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "", {}}};
  transport_->Reply(kUrl, FakeReply{});
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: response body is not valid JSON (reason parse)");
  EXPECT_EQ(Failures(output, "parse"), 1);
  EXPECT_EQ(Value(output, "model_accuracy_ratio"), std::nullopt);
}

TEST_F(EndpointOnFakeTransportTest, MalformedJsonIsAParseFailure) {
  EndpointConfig config = Config();
  config.model_version_pointer = "/model/version";
  transport_->ReplyJson(kUrl, R"({"model": {"version": "v1")");
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_EQ(Value(output, "model_endpoint_up"), 0);
  EXPECT_EQ(Failures(output, "parse"), 1);
  EXPECT_EQ(FindFamily(output.families, "model_info"), nullptr);
}

// A JSON null, as a whole body or as a field's value: the probe is up, the fields are not
// exported and each counts as an extraction error.
TEST_F(EndpointOnFakeTransportTest, NullValuesAreExtractionErrorsNotFailures) {
  EndpointConfig config = Config();
  config.model_version_pointer = "/model/version";
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "", {}}};
  transport_->ReplyJson(kUrl, R"({"model": {"version": null}, "metrics": {"accuracy": null}})");
  const auto collector = Make(config);
  CollectOutput output = CollectOnce(*collector);
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "model_accuracy_ratio"), std::nullopt);
  EXPECT_EQ(Value(output, "model_endpoint_extraction_errors_total"), 1);
  EXPECT_EQ(
      Sample(
          output.families, "model_info",
          {{"endpoint", "reco-api"}, {"model_name", ""}, {"model_version", "null"}, {"stage", ""}}),
      1);

  transport_->ReplyJson(kUrl, "null");
  output = CollectOnce(*collector);
  EXPECT_EQ(Value(output, "model_endpoint_up"), 1);
  EXPECT_EQ(Value(output, "model_endpoint_extraction_errors_total"), 2);
  EXPECT_NE(log_text_.str().find("/model/version: not found; /metrics/accuracy: not found"),
            std::string::npos)
      << log_text_.str();
}

// NaN and Infinity (what Python's json writes) fail their own field only.
TEST_F(EndpointOnFakeTransportTest, NonFiniteFieldIsAnErrorOfThatFieldOnly) {
  EndpointConfig config = Config();
  config.fields = {{"model_accuracy_ratio", "/accuracy", "", {}},
                   {"model_loss", "/loss", "", {}},
                   {"model_drift_score", "/drift", "", {}}};
  transport_->ReplyJson(kUrl, R"({"accuracy": NaN, "loss": -Infinity, "drift": 0.07})");
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "model_drift_score"), 0.07);
  EXPECT_EQ(Value(output, "model_accuracy_ratio"), std::nullopt);
  EXPECT_EQ(Value(output, "model_loss"), std::nullopt);
  EXPECT_NE(log_text_.str().find("/accuracy: not a finite number (NaN)"), std::string::npos)
      << log_text_.str();
}

TEST_F(EndpointOnFakeTransportTest, RefusedConnectionIsAConnectFailure) {
  transport_->Refuse(kUrl);
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: connect: Connection refused (reason connect)");
  EXPECT_EQ(Value(output, "model_endpoint_up"), 0);
  EXPECT_EQ(Value(output, "model_endpoint_http_status_code"), 0);
  EXPECT_EQ(Value(output, "model_endpoint_last_success_timestamp_seconds"), 0);
  EXPECT_EQ(Failures(output, "connect"), 1);
}

TEST_F(EndpointOnFakeTransportTest, TheErrorLineStartsWithTheCollectorsPrefix) {
  transport_->Hang(kUrl);
  const auto collector = Make(Config());
  const CollectOutput output = CollectOnce(*collector);
  EXPECT_EQ(output.status.message(),
            collector->ErrorPrefix() + "timed out after 500ms (reason timeout)");
}

// A hanging endpoint costs its timeout, on the fake clock, and the histogram records it.
TEST_F(EndpointOnFakeTransportTest, HangingEndpointIsCutAtItsTimeout) {
  transport_->Hang(kUrl);
  const auto started = clock_.SteadyNow();
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_EQ(clock_.SteadyNow() - started, 500ms);
  EXPECT_EQ(output.status.message(), "endpoint reco-api: timed out after 500ms (reason timeout)");
  EXPECT_EQ(Failures(output, "timeout"), 1);
  EXPECT_EQ(Durations(output.families), std::make_pair(std::uint64_t{1}, 0.5));
}

TEST_F(EndpointOnFakeTransportTest, UnexpectedStatusIsAnHttpStatusFailure) {
  transport_->ReplyJson(kUrl, R"({"error": "overloaded"})", 503);
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: unexpected HTTP status 503 (reason http_status)");
  EXPECT_EQ(Value(output, "model_endpoint_http_status_code"), 503);
  EXPECT_EQ(Failures(output, "http_status"), 1);
}

TEST_F(EndpointOnFakeTransportTest, ValidStatusCodesReplaceAny2xx) {
  EndpointConfig config = Config();
  config.valid_status_codes = {200, 302};
  const auto collector = Make(config);
  transport_->ReplyJson(kUrl, "", 302);
  EXPECT_EQ(Value(CollectOnce(*collector), "model_endpoint_up"), 1);
  transport_->ReplyJson(kUrl, "", 204);
  const CollectOutput output = CollectOnce(*collector);
  EXPECT_EQ(Value(output, "model_endpoint_up"), 0);
  EXPECT_EQ(Failures(output, "http_status"), 1);
}

TEST_F(EndpointOnFakeTransportTest, BodyOverMaxBodyBytesIsRefused) {
  EndpointConfig config = Config();
  config.max_body_bytes = 16;
  transport_->ReplyJson(kUrl, R"({"padding": "more than sixteen bytes"})");
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: body larger than 16 bytes (reason body_too_large)");
  EXPECT_EQ(Failures(output, "body_too_large"), 1);
}

TEST_F(EndpointOnFakeTransportTest, HttpsExportsTheCertificateExpiryAndKeepsIt) {
  const std::string url = "https://reco-api:8443/health";
  EndpointConfig config = Config(url);
  config.tls.server_name = "reco-api.internal";
  FakeReply reply;
  reply.tls_not_after_seconds = 1767225600;
  transport_->Reply(url, reply);
  const auto collector = Make(config);
  CollectOutput output = CollectOnce(*collector);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "model_endpoint_tls_cert_expiry_timestamp_seconds"), 1767225600);
  const RecordedRequest request = transport_->requests(url).at(0);
  EXPECT_TRUE(request.has_tls_context);
  EXPECT_TRUE(request.verify_peer);
  EXPECT_EQ(request.tls_server_name, "reco-api.internal");

  // A failed handshake presents no chain: the last expiry seen stays exported.
  transport_->FailTls(url, "certificate verify failed");
  output = CollectOnce(*collector);
  EXPECT_EQ(output.status.message(),
            "endpoint reco-api: TLS handshake: certificate verify failed (reason tls)");
  EXPECT_EQ(Failures(output, "tls"), 1);
  EXPECT_EQ(Value(output, "model_endpoint_tls_cert_expiry_timestamp_seconds"), 1767225600);
}

TEST_F(EndpointOnFakeTransportTest, InsecureSkipVerifyTurnsPeerChecksOff) {
  const std::string url = "https://reco-api:8443/health";
  EndpointConfig config = Config(url);
  config.tls.insecure_skip_verify = true;
  CollectOnce(*Make(config));
  EXPECT_FALSE(transport_->requests(url).at(0).verify_peer);
  EXPECT_NE(log_text_.str().find("TLS certificate verification is disabled"), std::string::npos);
}

// Each reason counts its own failures, from zero before the first one; a failure keeps the
// time of the last success.
TEST_F(EndpointOnFakeTransportTest, EveryFailureReasonIsCountedOnItsOwn) {
  EndpointConfig config = Config();
  config.max_body_bytes = 64;
  config.expect = {{"/status", "ok"}};
  const auto collector = Make(config);
  transport_->ReplyJson(kUrl, R"({"status": "ok"})");
  CollectOutput output = CollectOnce(*collector);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const std::optional<double> last_success =
      Value(output, "model_endpoint_last_success_timestamp_seconds");
  for (const ProbeFailure reason : AllProbeFailures()) {
    EXPECT_EQ(Failures(output, ProbeFailureName(reason)), 0) << ProbeFailureName(reason);
  }
  const std::vector<std::pair<std::string, std::function<void()>>> scripts = {
      {"timeout", [&] { transport_->Hang(kUrl); }},
      {"connect", [&] { transport_->Refuse(kUrl); }},
      {"tls", [&] { transport_->FailTls(kUrl, "alert handshake failure"); }},
      {"http_status", [&] { transport_->ReplyJson(kUrl, R"({"status": "ok"})", 500); }},
      {"body_too_large", [&] { transport_->ReplyJson(kUrl, std::string(65, ' ')); }},
      {"parse", [&] { transport_->ReplyJson(kUrl, "{"); }},
      {"unexpected_body", [&] { transport_->ReplyJson(kUrl, R"({"status": "degraded"})"); }}};
  ASSERT_EQ(scripts.size(), AllProbeFailures().size());
  for (const auto& [reason, script] : scripts) {
    script();
    output = CollectOnce(*collector);
    EXPECT_EQ(Value(output, "model_endpoint_up"), 0) << reason;
    EXPECT_NE(output.status.message().find("(reason " + reason + ")"), std::string::npos)
        << output.status.message();
    EXPECT_EQ(Value(output, "model_endpoint_last_success_timestamp_seconds"), last_success);
  }
  for (const ProbeFailure reason : AllProbeFailures()) {
    EXPECT_EQ(Failures(output, ProbeFailureName(reason)), 1) << ProbeFailureName(reason);
  }
  EXPECT_EQ(Durations(output.families).first, 8u);
}

// An https endpoint with model_info, a mapped field and a number, after one success and one
// timeout.
TEST_F(EndpointOnFakeTransportTest, MatchesTheGoldenExposition) {
  const std::string url = "https://reco-api:8443/health";
  EndpointConfig config = Config(url);
  config.model_name_pointer = "/model/name";
  config.model_version_pointer = "/model/version";
  config.stage_pointer = "/model/stage";
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "Accuracy on the holdout.", {}},
                   {"model_status_ok", "/status", "", {{"ok", 1}, {"degraded", 0.5}}}};
  FakeReply reply;
  reply.body = kHealthyBody;
  reply.duration = 120ms;
  reply.tls_not_after_seconds = 1767225600;
  transport_->Reply(url, reply);
  const auto collector = Make(config);
  ASSERT_TRUE(CollectOnce(*collector).status.ok());
  transport_->Hang(url);
  const CollectOutput output = CollectOnce(*collector);
  ExpectMatchesGolden(output.families, "endpoint");
}

}  // namespace
}  // namespace outcomes::testing_support
