// FakeTransport: scripted HTTP answers for unit tests, behind the HttpTransport seam. A test
// sets what each URL answers (status, headers, body, certificate expiry, how long it takes),
// makes a URL refuse connections, fail its TLS handshake or hang, and reads back every request
// a collector made. Answers are delivered through the io_context (boost::asio::post), so the
// collectors run their real asynchronous path, and in the order the exchanges end: those
// started together overlap, the shortest answers first. On a FakeClock the clock moves to the
// end of each exchange as its answer is delivered; an exchange that lasts as long as the
// request's timeout fails with reason timeout, as on the real client. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporter/collectors/collector.h"
#include "exporter/probe/http_client.h"
#include "tests/support/fake_clock.h"

namespace outcomes::testing_support {

struct FakeReply {
  int status = 200;
  std::string body;
  HttpHeaders headers;
  // A failure the transport itself reports (connect, tls, ...); kNone for an answer.
  ProbeFailure failure = ProbeFailure::kNone;
  std::string error;
  // How long the exchange takes; at the request's timeout or more it times out.
  Duration duration = std::chrono::milliseconds(20);
  // https: the earliest notAfter of the chain the server presented, Unix seconds.
  std::optional<double> tls_not_after_seconds;
};

// A request as the collector made it; `url` is scheme://host:port/target.
struct RecordedRequest {
  std::string url;
  std::string method;
  HttpHeaders headers;
  std::string body;
  Duration timeout{};
  std::size_t max_body_bytes = 0;
  bool has_tls_context = false;
  std::string tls_server_name;
  bool verify_peer = true;
};

class FakeTransport : public HttpTransport {
 public:
  // Without a clock the durations are only reported, not waited for.
  explicit FakeTransport(FakeClock* clock = nullptr) : clock_(clock) {}

  // `url` (scheme://host:port/target, the query included) answers `reply` until set again.
  // A URL without a reply answers 404 with an empty body.
  void Reply(const std::string& url, FakeReply reply);
  // Shorthands: a 200 with a JSON body, a refused connection, a failed TLS handshake, an
  // exchange that never ends (times out at the request's deadline).
  void ReplyJson(const std::string& url, std::string body, int status = 200);
  void Refuse(const std::string& url);
  void FailTls(const std::string& url, std::string error);
  void Hang(const std::string& url);

  std::vector<RecordedRequest> requests() const;
  // The requests to `url`, in order.
  std::vector<RecordedRequest> requests(const std::string& url) const;

  void Start(boost::asio::io_context& io, ProbeRequest request,
             std::function<void(ProbeResponse)> done) override;

  // Deps for a collector under test: this transport, `clock` if given, else the real clocks.
  static HttpCollectorDeps Deps(Logger& log, std::shared_ptr<FakeTransport> transport,
                                FakeClock* clock = nullptr);

 private:
  ProbeResponse Answer(const ProbeRequest& request, const FakeReply& reply) const;

  // The earliest exchange that ended; called once per Start(), from the io_context.
  void DeliverNext();
  std::chrono::steady_clock::time_point Now() const;

  struct Pending {
    ProbeResponse response;
    std::function<void(ProbeResponse)> done;
  };

  FakeClock* const clock_;
  mutable std::mutex mutex_;
  std::map<std::string, FakeReply> replies_;
  std::vector<RecordedRequest> requests_;
  // By the time the exchange ends, then by start order.
  std::multimap<std::chrono::steady_clock::time_point, Pending> pending_;
  std::chrono::steady_clock::time_point virtual_now_{};  // without a clock
};

// The URL a request goes to, as FakeTransport keys it.
std::string UrlOf(const ProbeRequest& request);

// Runs one asynchronous cycle of `collector` to its end on a fresh io_context. Fails the test
// if the cycle finished before CollectAsync() returned (answers must come through the loop).
CollectOutput CollectOnce(Collector& collector);

}  // namespace outcomes::testing_support
