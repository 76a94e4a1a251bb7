#include "tests/support/fake_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <limits>

namespace outcomes::testing_support {

std::string UrlOf(const ProbeRequest& request) {
  return std::string(request.url.https ? "https://" : "http://") + request.url.host + ":" +
         request.url.port + request.url.target;
}

void FakeTransport::Reply(const std::string& url, FakeReply reply) {
  const std::lock_guard lock(mutex_);
  replies_[url] = std::move(reply);
}

void FakeTransport::ReplyJson(const std::string& url, std::string body, int status) {
  FakeReply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.headers = {{"Content-Type", "application/json"}};
  Reply(url, std::move(reply));
}

void FakeTransport::Refuse(const std::string& url) {
  FakeReply reply;
  reply.failure = ProbeFailure::kConnect;
  reply.error = "connect: Connection refused";
  reply.duration = std::chrono::milliseconds(1);
  Reply(url, std::move(reply));
}

void FakeTransport::FailTls(const std::string& url, std::string error) {
  FakeReply reply;
  reply.failure = ProbeFailure::kTls;
  reply.error = "TLS handshake: " + std::move(error);
  Reply(url, std::move(reply));
}

void FakeTransport::Hang(const std::string& url) {
  FakeReply reply;
  reply.duration = Duration::max();
  Reply(url, std::move(reply));
}

std::vector<RecordedRequest> FakeTransport::requests() const {
  const std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<RecordedRequest> FakeTransport::requests(const std::string& url) const {
  std::vector<RecordedRequest> matching;
  for (RecordedRequest& request : requests()) {
    if (request.url == url) matching.push_back(std::move(request));
  }
  return matching;
}

// What the real client would deliver for `reply`: its deadline and body limit apply here too,
// so that a collector passing the wrong ones is caught.
ProbeResponse FakeTransport::Answer(const ProbeRequest& request, const FakeReply& reply) const {
  ProbeResponse response;
  const Duration took = std::min(reply.duration, request.timeout);
  response.seconds = std::chrono::duration<double>(took).count();
  if (request.url.https && !request.tls) {
    response.failure = ProbeFailure::kTls;
    response.error = "no TLS context for an https URL";
  } else if (reply.duration >= request.timeout) {
    response.failure = ProbeFailure::kTimeout;
    response.error = "timed out after " + FormatDuration(request.timeout);
  } else if (reply.failure != ProbeFailure::kNone) {
    response.failure = reply.failure;
    response.error = reply.error;
  } else if (reply.body.size() > request.max_body_bytes) {
    response.failure = ProbeFailure::kBodyTooLarge;
    response.error = "body larger than " + std::to_string(request.max_body_bytes) + " bytes";
  } else {
    response.status_code = reply.status;
    response.headers = reply.headers;
    response.body = reply.body;
  }
  // The handshake precedes the failures after it; a refused or failed TLS one has no chain.
  if (request.url.https && reply.failure != ProbeFailure::kConnect &&
      reply.failure != ProbeFailure::kTls && response.failure != ProbeFailure::kTls) {
    response.tls_not_after_seconds = reply.tls_not_after_seconds;
  }
  return response;
}

void FakeTransport::Start(boost::asio::io_context& io, ProbeRequest request,
                          std::function<void(ProbeResponse)> done) {
  FakeReply reply;
  reply.status = 404;
  {
    const std::lock_guard lock(mutex_);
    requests_.push_back({UrlOf(request), request.method, request.headers, request.body,
                         request.timeout, request.max_body_bytes, request.tls != nullptr,
                         request.tls_server_name, request.verify_peer});
    if (const auto it = replies_.find(UrlOf(request)); it != replies_.end()) reply = it->second;
  }
  ProbeResponse response = Answer(request, reply);
  const auto ends = Now() + std::min(reply.duration, request.timeout);
  {
    const std::lock_guard lock(mutex_);
    pending_.emplace(ends, Pending{std::move(response), std::move(done)});
  }
  boost::asio::post(io, [this] { DeliverNext(); });
}

std::chrono::steady_clock::time_point FakeTransport::Now() const {
  if (clock_ != nullptr) return clock_->SteadyNow();
  const std::lock_guard lock(mutex_);
  return virtual_now_;
}

void FakeTransport::DeliverNext() {
  Pending next;
  {
    const std::lock_guard lock(mutex_);
    if (pending_.empty()) return;
    const auto first = pending_.begin();
    const auto ends = first->first;
    next = std::move(first->second);
    pending_.erase(first);
    if (clock_ != nullptr && ends > clock_->SteadyNow())
      clock_->Advance(std::chrono::duration_cast<Duration>(ends - clock_->SteadyNow()));
    virtual_now_ = std::max(virtual_now_, ends);
  }
  next.done(std::move(next.response));
}

HttpCollectorDeps FakeTransport::Deps(Logger& log, std::shared_ptr<FakeTransport> transport,
                                      FakeClock* clock) {
  HttpCollectorDeps deps{log, std::move(transport)};
  if (clock != nullptr) {
    deps.now = SteadyOf(*clock);
    deps.wall_now = SystemOf(*clock);
  }
  return deps;
}

CollectOutput CollectOnce(Collector& collector) {
  boost::asio::io_context io;
  std::optional<CollectOutput> output;
  collector.CollectAsync(io, [&output](CollectOutput out) { output = std::move(out); });
  EXPECT_FALSE(output.has_value()) << "the cycle ended before CollectAsync() returned";
  io.run();
  EXPECT_TRUE(output.has_value()) << "the cycle never called done";
  return output.value_or(CollectOutput{Status::Error("no output"), {}});
}

}  // namespace outcomes::testing_support
