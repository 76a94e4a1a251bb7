// Endpoint probes against a real HTTP(S) server on 127.0.0.1 (tests/integration/
// fake_model_server.py): up, down, slow, hanging, 5xx, redirects, malformed JSON, missing
// pointers, huge bodies, TLS with a CA and client certificates made at test time, and 200
// endpoints at a 1 s interval on one thread.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "exporter/collectors/endpoint.h"
#include "exporter/collectors/registry_mlflow.h"
#include "exporter/scheduling/scheduler.h"

extern char** environ;

namespace outcomes {
namespace {

using namespace std::chrono_literals;

int FreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// A child process started with posix_spawn and stopped by its PID.
class FakeServer {
 public:
  explicit FakeServer(std::vector<std::string> extra_args = {}) : port_(FreePort()) {
    std::vector<std::string> args = {
        "python3",
        std::string(OUTCOMES_SOURCE_DIR) + "/tests/integration/fake_model_server.py",
        "--port",
        std::to_string(port_),
        "--slow-seconds",
        "3"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, "python3", nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start the fake model server");
    }
    // Ready once it accepts connections.
    for (int i = 0; i < 100; ++i) {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket socket(io);
      boost::system::error_code error;
      socket.connect(
          {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)}, error);
      if (!error) return;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("the fake model server did not start");
  }
  ~FakeServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  int port() const { return port_; }
  std::string Url(const std::string& path, bool https = false) const {
    return std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int port_;
  pid_t pid_ = 0;
};

struct Probed {
  CollectOutput output;
  std::string exposition_of(const std::string& name) const {
    std::string text;
    for (const auto& family : output.families) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        std::string labels;
        for (const auto& label : metric.label) labels += label.name + "=" + label.value + ",";
        text += labels + ";";
      }
    }
    return text;
  }
  double value(const std::string& name, const std::string& reason = "") const {
    for (const auto& family : output.families) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        if (!reason.empty() && (metric.label.size() < 2 || metric.label[1].value != reason)) {
          continue;
        }
        switch (family.type) {
          case prometheus::MetricType::Counter: return metric.counter.value;
          case prometheus::MetricType::Histogram:
            return static_cast<double>(metric.histogram.sample_count);
          default: return metric.gauge.value;
        }
      }
    }
    return -1;
  }
};

class EndpointCollectorTest : public testing::Test {
 protected:
  EndpointConfig Config(const std::string& url) {
    EndpointConfig config;
    config.name = "reco-api";
    config.url = url;
    config.timeout = 500ms;
    return config;
  }

  // Runs `probes` cycles of one collector to completion and returns the last one.
  Probed Probe(const EndpointConfig& config, int probes = 1) {
    Result<std::shared_ptr<EndpointCollector>> collector = EndpointCollector::Create(config, log_);
    if (!collector.ok()) {
      ADD_FAILURE() << collector.error();
      return {};
    }
    Probed result;
    for (int i = 0; i < probes; ++i) {
      boost::asio::io_context io;
      collector.value()->CollectAsync(
          io, [&result](CollectOutput output) { result.output = std::move(output); });
      io.run();
    }
    return result;
  }

  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

TEST_F(EndpointCollectorTest, UpEndpointExportsModelInfoAndFields) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/health"));
  config.model_name_pointer = "/model/name";
  config.model_version_pointer = "/model/version";
  config.stage_pointer = "/model/stage";
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "", {}},
                   {"model_drift_score", "/metrics/drift_score", "Drift.", {}}};
  const Probed probed = Probe(config);
  EXPECT_TRUE(probed.output.status.ok()) << probed.output.status.message();
  EXPECT_EQ(probed.value("model_endpoint_up"), 1);
  EXPECT_EQ(probed.value("model_endpoint_http_status_code"), 200);
  EXPECT_EQ(probed.exposition_of("model_info"),
            "endpoint=reco-api,model_name=reco-ranker,model_version=v1.2.0,stage=Production,;");
  EXPECT_DOUBLE_EQ(probed.value("model_accuracy_ratio"), 0.912);
  EXPECT_DOUBLE_EQ(probed.value("model_drift_score"), 0.07);
  EXPECT_EQ(probed.value("model_endpoint_extraction_errors_total"), 0);
  EXPECT_GT(probed.value("model_endpoint_last_success_timestamp_seconds"), 1.7e9);
}

TEST_F(EndpointCollectorTest, FieldValuesMapStringsAndBooleansToNumbers) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/health"));
  config.fields = {{"model_status_ok", "/status", "", {{"ok", 1}, {"degraded", 0.5}}},
                   {"model_ready", "/ready", "", {{"true", 1}, {"false", 0}}},
                   {"model_status_degraded", "/status", "", {{"degraded", 1}}},
                   {"model_status_unmapped", "/status", "", {}},
                   {"model_accuracy_ratio", "/metrics/accuracy", "", {{"high", 1}}}};
  const Probed probed = Probe(config);
  ASSERT_EQ(probed.value("model_endpoint_up"), 1) << probed.output.status.message();
  EXPECT_EQ(probed.value("model_status_ok"), 1);
  EXPECT_EQ(probed.value("model_ready"), 1);
  // A number stays a number; a string the map does not know is an extraction error.
  EXPECT_EQ(probed.value("model_accuracy_ratio"), 0.912);
  EXPECT_EQ(probed.value("model_status_degraded"), -1);
  EXPECT_EQ(probed.value("model_status_unmapped"), -1);
  EXPECT_EQ(probed.value("model_endpoint_extraction_errors_total"), 1);
  // The log line is logfmt: its quotes are escaped.
  EXPECT_NE(log_output_.str().find("/status: \\\"ok\\\" is not one of the field's values"),
            std::string::npos)
      << log_output_.str();
}

TEST_F(EndpointCollectorTest, PostsABodyAndChecksTheAnswer) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/predict"));
  config.method = "POST";
  config.body = R"({"user_id": "u-42", "context": {"page": "home"}})";
  config.headers = {{"Content-Type", "application/vnd.reco+json"}};
  config.expect = {{"/predictions/0/score", std::nullopt},
                   {"/user", "u-42"},
                   {"/content_type", "application/vnd.reco+json"}};
  Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1) << probed.output.status.message();
  // The prediction's latency is the probe's.
  EXPECT_EQ(probed.value("model_endpoint_probe_duration_seconds"), 1);

  config.expect = {{"/predictions/0/score", "0.87"}, {"/user", "someone-else"}};
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 0);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "unexpected_body"), 1);
  EXPECT_EQ(probed.output.status.message(),
            "endpoint reco-api: expected /user to equal someone-else, got \"u-42\" "
            "(reason unexpected_body)");

  config.expect = {{"/predictions/1", std::nullopt}};
  probed = Probe(config);
  EXPECT_EQ(probed.output.status.message(),
            "endpoint reco-api: expected /predictions/1 in the response, not found "
            "(reason unexpected_body)");

  // Without the body the model server refuses the request: an HTTP status failure.
  config.body.clear();
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "http_status"), 1);
}

TEST_F(EndpointCollectorTest, RefusedConnectionIsAConnectFailure) {
  const Probed probed = Probe(Config("http://127.0.0.1:" + std::to_string(FreePort()) + "/health"));
  EXPECT_EQ(probed.value("model_endpoint_up"), 0);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "connect"), 1);
  EXPECT_EQ(probed.value("model_endpoint_http_status_code"), 0);
  EXPECT_NE(probed.output.status.message().find("connect"), std::string::npos);
}

TEST_F(EndpointCollectorTest, SlowEndpointIsCutAtItsTimeout) {
  FakeServer server;
  const auto started = std::chrono::steady_clock::now();
  const Probed probed = Probe(Config(server.Url("/slow")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(probed.value("model_endpoint_up"), 0);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "timeout"), 1);
}

TEST_F(EndpointCollectorTest, EndpointHangingAfterHeadersIsCutAtItsTimeout) {
  FakeServer server;
  const auto started = std::chrono::steady_clock::now();
  const Probed probed = Probe(Config(server.Url("/hang")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "timeout"), 1);
}

TEST_F(EndpointCollectorTest, ServerErrorIsAnHttpStatusFailure) {
  FakeServer server;
  const Probed probed = Probe(Config(server.Url("/error")));
  EXPECT_EQ(probed.value("model_endpoint_up"), 0);
  EXPECT_EQ(probed.value("model_endpoint_http_status_code"), 500);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "http_status"), 1);
}

TEST_F(EndpointCollectorTest, RedirectsAreNotFollowedUnlessAccepted) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/redirect"));
  Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_http_status_code"), 302);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "http_status"), 1);
  config.valid_status_codes = {200, 302};
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1);
}

TEST_F(EndpointCollectorTest, MalformedJsonIsAParseFailure) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/malformed"));
  config.model_version_pointer = "/model/version";
  const Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 0);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "parse"), 1);
}

TEST_F(EndpointCollectorTest, MissingPointersAreReportedNotFatal) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/missing"));
  config.model_version_pointer = "/model/version";
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "", {}}};
  const Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1);
  EXPECT_EQ(probed.value("model_endpoint_extraction_errors_total"), 1);
  EXPECT_EQ(probed.value("model_accuracy_ratio"), -1);  // a string is not exported
  EXPECT_EQ(probed.exposition_of("model_info"),
            "endpoint=reco-api,model_name=,model_version=,stage=,;");
  EXPECT_NE(log_output_.str().find("/model/version: not found; /metrics/accuracy: not a number"),
            std::string::npos)
      << log_output_.str();
}

TEST_F(EndpointCollectorTest, HugeBodyIsRefused) {
  FakeServer server;
  const Probed probed = Probe(Config(server.Url("/huge")));
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "body_too_large"), 1)
      << probed.output.status.message();
}

// A server declaring a body over max_body_bytes is refused on its headers, not read until the
// deadline while it trickles bytes.
TEST_F(EndpointCollectorTest, DeclaredHugeBodyIsRefusedBeforeTheTimeout) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/huge-declared"));
  config.timeout = 3s;
  const auto started = std::chrono::steady_clock::now();
  const Probed probed = Probe(config);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "body_too_large"), 1)
      << probed.output.status.message();
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "timeout"), 0);
}

// NaN, Infinity and -Infinity tokens (not JSON, but what Python's json writes), 1e999 (JSON,
// but more than a double holds) and strings each fail their own field only.
TEST_F(EndpointCollectorTest, NonFiniteFieldIsAnErrorOfThatFieldOnly) {
  FakeServer server;
  EndpointConfig config = Config(server.Url("/nonfinite"));
  config.model_version_pointer = "/model/version";
  config.fields = {{"model_accuracy_ratio", "/metrics/accuracy", "", {}},
                   {"model_drift_score", "/metrics/drift_score", "", {}},
                   {"model_loss", "/metrics/loss", "", {}},
                   {"model_gain", "/metrics/gain", "", {}},
                   {"model_huge", "/metrics/huge", "", {}},
                   {"model_label", "/metrics/label", "", {}},
                   {"model_note", "/metrics/note", "", {}}};
  const Probed probed = Probe(config);
  EXPECT_TRUE(probed.output.status.ok()) << probed.output.status.message();
  EXPECT_EQ(probed.value("model_endpoint_up"), 1);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "parse"), 0);
  EXPECT_DOUBLE_EQ(probed.value("model_drift_score"), 0.07);
  for (const char* absent :
       {"model_accuracy_ratio", "model_loss", "model_gain", "model_huge", "model_label"}) {
    EXPECT_EQ(probed.value(absent), -1) << absent;
  }
  EXPECT_EQ(probed.exposition_of("model_info"),
            "endpoint=reco-api,model_name=,model_version=v1.2.0,stage=,;");
  EXPECT_EQ(probed.value("model_endpoint_extraction_errors_total"), 1);
  EXPECT_NE(log_output_.str().find("/metrics/accuracy: not a finite number (NaN); "
                                   "/metrics/loss: not a finite number (Infinity); "
                                   "/metrics/gain: not a finite number (-Infinity); "
                                   "/metrics/huge: not a finite number (1e999); "
                                   "/metrics/label: not a finite number (NaN); "
                                   "/metrics/note: not a number"),
            std::string::npos)
      << log_output_.str();
}

TEST_F(EndpointCollectorTest, HistogramCountEqualsProbesMade) {
  FakeServer server;
  const Probed probed = Probe(Config(server.Url("/health")), 7);
  EXPECT_EQ(probed.value("model_endpoint_probe_duration_seconds"), 7);
  const Probed count = Probe(Config(server.Url("/count/health")));
  EXPECT_EQ(count.value("model_endpoint_up"), 1);
  // The server saw exactly the probes the histogram counted.
  boost::asio::io_context io;
  ProbeResponse response;
  ProbeRequest request;
  request.url = ParseUrl(server.Url("/count/health")).value();
  StartHttpProbe(io, request, [&response](ProbeResponse r) { response = std::move(r); });
  io.run();
  EXPECT_EQ(response.body, "7");
}

TEST_F(EndpointCollectorTest, SendsTheBearerToken) {
  FakeServer server;
  const std::string token_file = testing::TempDir() + "/token";
  std::ofstream(token_file) << "s3cret-token\n";
  EndpointConfig config = Config(server.Url("/health"));
  config.bearer_token_file = token_file;
  config.model_name_pointer = "/auth";
  const Probed probed = Probe(config);
  EXPECT_NE(probed.exposition_of("model_info").find("model_name=Bearer s3cret-token,"),
            std::string::npos);
}

// Certificates made at test time: a CA, a server certificate for 127.0.0.1 and localhost, and
// a client certificate for mTLS.
class TlsFiles {
 public:
  TlsFiles() : dir_(testing::TempDir() + "/tls-" + std::to_string(getpid())) {
    std::filesystem::create_directories(dir_);
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    Run("openssl req -x509 " + key + " -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca");
    std::ofstream(dir_ + "/server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    Run("openssl req " + key + " -keyout server.key -out server.csr -subj /CN=localhost");
    Run("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 30 -extfile server.ext");
    // A server that presents its CA too: the chain's earliest expiry is the CA's (2 days).
    Run("cat server.crt ca.crt | tee server-chain.crt");
    Run("openssl req " + key + " -keyout client.key -out client.csr -subj /CN=prober");
    Run("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out client.crt -days 2");
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // A certificate's notAfter as openssl(1) prints it, in Unix seconds.
  double NotAfter(const std::string& name) const {
    const std::string command =
        "openssl x509 -noout -enddate -dateopt iso_8601 -in '" + Path(name) + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    char line[128] = {};
    if (!pipe || fgets(line, sizeof line, pipe.get()) == nullptr) return -1;
    std::tm time{};
    // notAfter=2026-12-03 09:40:00Z
    if (strptime(line, "notAfter=%Y-%m-%d %H:%M:%S", &time) == nullptr) return -1;
    return static_cast<double>(timegm(&time));
  }

 private:
  void Run(const std::string& command) {
    const std::string line = "cd '" + dir_ + "' && " + command + " >/dev/null 2>&1";
    if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }
  std::string dir_;
};

TEST_F(EndpointCollectorTest, TlsWithTheRightCaIsUp) {
  const TlsFiles tls;
  FakeServer server({"--cert", tls.Path("server.crt"), "--key", tls.Path("server.key")});
  EndpointConfig config = Config(server.Url("/health", /*https=*/true));
  config.tls.ca_file = tls.Path("ca.crt");
  Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1) << probed.output.status.message();

  // The system store does not know the test CA.
  config.tls.ca_file.clear();
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "tls"), 1);

  // Nor does the certificate name another host.
  config.tls.ca_file = tls.Path("ca.crt");
  config.tls.server_name = "model.example.com";
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "tls"), 1);

  // Unless verification is off, which is logged.
  config.tls.server_name.clear();
  config.tls.ca_file.clear();
  config.tls.insecure_skip_verify = true;
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1);
  EXPECT_NE(log_output_.str().find("TLS certificate verification is disabled"), std::string::npos);
}

TEST_F(EndpointCollectorTest, HttpsExportsTheEarliestExpiryOfThePresentedChain) {
  const TlsFiles tls;
  EndpointConfig config;
  {
    FakeServer leaf_only({"--cert", tls.Path("server.crt"), "--key", tls.Path("server.key")});
    config = Config(leaf_only.Url("/health", /*https=*/true));
    config.tls.ca_file = tls.Path("ca.crt");
    const Probed probed = Probe(config);
    EXPECT_EQ(probed.value("model_endpoint_tls_cert_expiry_timestamp_seconds"),
              tls.NotAfter("server.crt"));
  }
  FakeServer chain({"--cert", tls.Path("server-chain.crt"), "--key", tls.Path("server.key")});
  config.url = chain.Url("/health", /*https=*/true);
  const Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1) << probed.output.status.message();
  const double expiry = probed.value("model_endpoint_tls_cert_expiry_timestamp_seconds");
  EXPECT_EQ(expiry, tls.NotAfter("ca.crt"));
  EXPECT_LT(expiry, tls.NotAfter("server.crt"));
  // Plain http has no certificate, hence no series.
  FakeServer plain;
  EXPECT_EQ(
      Probe(Config(plain.Url("/health"))).value("model_endpoint_tls_cert_expiry_timestamp_seconds"),
      -1);
}

TEST_F(EndpointCollectorTest, MutualTlsNeedsTheClientCertificate) {
  const TlsFiles tls;
  FakeServer server({"--cert", tls.Path("server.crt"), "--key", tls.Path("server.key"),
                     "--client-ca", tls.Path("ca.crt")});
  EndpointConfig config = Config(server.Url("/health", /*https=*/true));
  config.tls.ca_file = tls.Path("ca.crt");
  Probed probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 0);
  EXPECT_EQ(probed.value("model_endpoint_probe_failures_total", "tls"), 1)
      << probed.output.status.message();
  config.tls.cert_file = tls.Path("client.crt");
  config.tls.key_file = tls.Path("client.key");
  probed = Probe(config);
  EXPECT_EQ(probed.value("model_endpoint_up"), 1) << probed.output.status.message();
}

TEST_F(EndpointCollectorTest, UnreadableCaFileFailsAtCreation) {
  EndpointConfig config = Config("https://127.0.0.1:1/health");
  config.tls.ca_file = "/nonexistent/ca.crt";
  const auto collector = EndpointCollector::Create(config, log_);
  ASSERT_FALSE(collector.ok());
  EXPECT_EQ(collector.error().rfind("endpoint reco-api: tls.ca_file \"/nonexistent/ca.crt\":", 0),
            0u)
      << collector.error();
}

std::size_t ThreadCount() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

TEST_F(EndpointCollectorTest, TwoHundredEndpointsStayOnScheduleOnOneThread) {
  FakeServer server;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  const std::size_t threads_before = ThreadCount();
  Scheduler scheduler(io, log_);
  std::vector<std::shared_ptr<Collector>> collectors;
  for (int i = 0; i < 200; ++i) {
    EndpointConfig config = Config(server.Url("/health"));
    config.name = "model-" + std::to_string(i);
    config.interval = 1s;
    collectors.push_back(EndpointCollector::Create(config, log_).value());
  }
  std::promise<void> applied;
  boost::asio::post(io, [&] {
    scheduler.Apply(collectors);
    applied.set_value();
  });
  applied.get_future().wait();
  const std::size_t threads_during = ThreadCount();
  std::this_thread::sleep_for(5500ms);
  // Read and stop on the io thread, where every probe completes, so nothing changes between.
  std::promise<std::vector<prometheus::MetricFamily>> snapshot;
  boost::asio::post(io, [&] {
    snapshot.set_value(scheduler.Families());
    scheduler.Stop(1s);
  });
  const std::vector<prometheus::MetricFamily> families = snapshot.get_future().get();
  guard.reset();
  io.stop();
  io_thread.join();

  // No thread per endpoint: the io thread (and at most Asio's resolver thread) drive them all.
  EXPECT_LE(threads_during, threads_before + 1);
  // Started at once with a 1 s interval, each endpoint is probed at 0, 1, ..., 5 s.
  int probed = 0;
  int up = 0;
  for (const auto& family : families) {
    for (const auto& metric : family.metric) {
      if (family.name == "model_endpoint_probe_duration_seconds") {
        ++probed;
        EXPECT_GE(metric.histogram.sample_count, 5u) << metric.label[0].value;
        EXPECT_LE(metric.histogram.sample_count, 7u) << metric.label[0].value;
      }
      if (family.name == "model_endpoint_up") up += static_cast<int>(metric.gauge.value);
    }
  }
  EXPECT_EQ(probed, 200);
  EXPECT_EQ(up, 200);
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

Probed QueryRegistry(const RegistryConfig& config, Logger& log) {
  Result<std::shared_ptr<MlflowRegistryCollector>> collector =
      MlflowRegistryCollector::Create(config, log);
  if (!collector.ok()) {
    ADD_FAILURE() << collector.error();
    return {};
  }
  Probed result;
  boost::asio::io_context io;
  collector.value()->CollectAsync(
      io, [&result](CollectOutput output) { result.output = std::move(output); });
  io.run();
  return result;
}

TEST_F(EndpointCollectorTest, RegistryExportsTheLatestVersionPerStage) {
  FakeServer server;
  RegistryConfig config;
  config.name = "mlflow";
  config.url = server.Url("/");
  config.models = {"reco-ranker"};
  const Probed probed = QueryRegistry(config, log_);
  EXPECT_TRUE(probed.output.status.ok()) << probed.output.status.message();
  EXPECT_EQ(probed.value("model_registry_up"), 1);
  EXPECT_EQ(probed.exposition_of("model_registry_version_info"),
            "registry=mlflow,model_name=reco-ranker,model_version=7,stage=Production,;"
            "registry=mlflow,model_name=reco-ranker,model_version=8,stage=Staging,;");
}

TEST_F(EndpointCollectorTest, RegistryReportsAnUnknownModel) {
  FakeServer server;
  RegistryConfig config;
  config.name = "mlflow";
  config.url = server.Url("");
  config.models = {"reco-ranker", "no-such-model"};
  config.stages = {"Production"};
  const Probed probed = QueryRegistry(config, log_);
  EXPECT_EQ(probed.value("model_registry_up"), 0);
  EXPECT_EQ(probed.output.status.message(),
            "registry mlflow: model no-such-model: registered-models/get: HTTP status 404");
}

TEST_F(EndpointCollectorTest, RegistryDownIsNotUp) {
  RegistryConfig config;
  config.name = "mlflow";
  config.url = "http://127.0.0.1:" + std::to_string(FreePort());
  config.models = {"reco-ranker"};
  const Probed probed = QueryRegistry(config, log_);
  EXPECT_EQ(probed.value("model_registry_up"), 0);
  EXPECT_EQ(probed.value("model_registry_version_info"), -1);
}

// "model/version=seconds;" for each model_registry_version_created_timestamp_seconds series.
std::string CreationTimes(const Probed& probed) {
  std::ostringstream text;
  text.precision(15);
  for (const auto& family : probed.output.families) {
    if (family.name != "model_registry_version_created_timestamp_seconds") continue;
    for (const auto& metric : family.metric) {
      text << metric.label[1].value << "/" << metric.label[2].value << "=" << metric.gauge.value
           << ";";
    }
  }
  return text.str();
}

TEST_F(EndpointCollectorTest, RegistryExportsAliasesTheChampionAndCreationTimes) {
  FakeServer server;
  RegistryConfig config;
  config.name = "mlflow";
  config.url = server.Url("/");
  config.models = {"reco-ranker", "reco-retriever"};
  const Probed probed = QueryRegistry(config, log_);
  ASSERT_TRUE(probed.output.status.ok()) << probed.output.status.message();
  EXPECT_EQ(probed.exposition_of("model_registry_alias_info"),
            "registry=mlflow,model_name=reco-ranker,alias=champion,model_version=7,;"
            "registry=mlflow,model_name=reco-ranker,alias=challenger,model_version=8,;"
            "registry=mlflow,model_name=reco-ranker,alias=baseline,model_version=6,;"
            "registry=mlflow,model_name=reco-retriever,alias=champion,model_version=3,;");
  EXPECT_EQ(probed.exposition_of("model_registry_champion_info"),
            "registry=mlflow,model_name=reco-ranker,alias=champion,model_version=7,;"
            "registry=mlflow,model_name=reco-retriever,alias=champion,model_version=3,;");
  // 7 and 8 come with the stages' answer; 6 and 3, named only by aliases, from
  // model-versions/get. Milliseconds become seconds.
  EXPECT_EQ(CreationTimes(probed),
            "reco-ranker/6=1789000000;reco-ranker/7=1789500000.123;reco-ranker/8=1790000000;"
            "reco-retriever/3=1788000000.5;");
}

TEST_F(EndpointCollectorTest, RegistryChampionAliasIsConfigurableAndStagesOptional) {
  FakeServer server;
  RegistryConfig config;
  config.name = "mlflow";
  config.url = server.Url("");
  config.models = {"reco-ranker"};
  config.stages = {};
  config.champion_alias = "challenger";
  const Probed probed = QueryRegistry(config, log_);
  ASSERT_TRUE(probed.output.status.ok()) << probed.output.status.message();
  EXPECT_EQ(probed.exposition_of("model_registry_champion_info"),
            "registry=mlflow,model_name=reco-ranker,alias=challenger,model_version=8,;");
  EXPECT_EQ(probed.exposition_of("model_registry_version_info"), "");
  EXPECT_EQ(CreationTimes(probed),
            "reco-ranker/6=1789000000;reco-ranker/7=1789500000.123;reco-ranker/8=1790000000;");
}

TEST(MlflowRegistryTest, ParsesAliasesAndModelVersions) {
  const auto aliases = MlflowRegistryCollector::ParseAliases(
      R"({"registered_model": {"name": "m", "aliases": [{"alias": "champion", "version": "3"}]}})");
  ASSERT_TRUE(aliases.ok()) << aliases.error();
  ASSERT_EQ(aliases.value().size(), 1u);
  EXPECT_EQ(aliases.value()[0].version, "3");
  // An MLflow before aliases answers without the field: no alias, not an error.
  EXPECT_TRUE(MlflowRegistryCollector::ParseAliases(R"({"registered_model": {"name": "m"}})")
                  .value()
                  .empty());
  EXPECT_EQ(
      MlflowRegistryCollector::ParseAliases(R"({"registered_model": {"aliases": [{}]}})").error(),
      "an aliases entry lacks alias or version");
  // creation_timestamp may come as a string (int64 in proto3 JSON).
  const auto version = MlflowRegistryCollector::ParseModelVersion(
      R"({"model_version": {"name": "m", "version": "3", "creation_timestamp": "1700000000250"}})");
  ASSERT_TRUE(version.ok()) << version.error();
  EXPECT_EQ(version.value().created_seconds, 1700000000.25);
  EXPECT_EQ(MlflowRegistryCollector::ParseModelVersion("{}").error(),
            "model_version is missing or lacks its version");
}

TEST(MlflowRegistryTest, ParsesLatestVersions) {
  const auto versions = MlflowRegistryCollector::ParseLatestVersions(
      R"({"model_versions": [{"name": "m", "version": "3", "current_stage": "Production"},
                             {"name": "m", "version": 4, "current_stage": "Staging"}]})");
  ASSERT_TRUE(versions.ok()) << versions.error();
  ASSERT_EQ(versions.value().size(), 2u);
  EXPECT_EQ(versions.value()[1].version, "4");
  EXPECT_TRUE(MlflowRegistryCollector::ParseLatestVersions("{}").value().empty());
  EXPECT_EQ(MlflowRegistryCollector::ParseLatestVersions("[1]").error(),
            "response is not a JSON object");
  EXPECT_EQ(MlflowRegistryCollector::ParseLatestVersions(R"({"model_versions": [{}]})").error(),
            "a model_versions entry lacks name or version");
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

TEST(ParseUrlTest, RefusesCredentialsWithoutRepeatingThem) {
  const auto url = ParseUrl("https://admin:hunter2@model:8443/health");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().find("hunter2"), std::string::npos) << url.error();
  EXPECT_EQ(ParseUrl("http://[::1]:8080/x?y=1").value().port, "8080");
  EXPECT_EQ(ParseUrl("https://model/health").value().port, "443");
  EXPECT_FALSE(ParseUrl("http://model:99999/").ok());
}

}  // namespace
}  // namespace outcomes
