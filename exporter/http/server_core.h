// HttpServerCore: what every connection of an HttpServer shares, whatever its stream:
// listening and accepting, the routes, the web config's security (TLS, basic auth, rate limit,
// replaced whole by a reload or a certificate rotation) and the limits. Internal to
// HttpServer. Thread-safe: the connections call it from the server's I/O threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exporter/http/basic_auth.h"
#include "exporter/http/connection_table.h"
#include "exporter/http/rate_limiter.h"
#include "exporter/http/server.h"
#include "exporter/http/tls_context.h"

namespace outcomes {

// What the web config decides, replaced whole by a reload or a certificate rotation;
// connections keep the one they started with.
struct WebSecurity {
  WebConfig web;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
  std::shared_ptr<BasicAuth> auth;
  std::shared_ptr<RateLimiter> limiter;  // null: unlimited
  std::vector<FileStamp> tls_files;
};

// The security `web` asks for; the error says why a TLS file cannot be used.
Result<std::shared_ptr<const WebSecurity>> MakeWebSecurity(const WebConfig& web);

// Whether a request may be answered.
// kRateLimited: the web config's rate_limit; kThrottled: too many password checks.
enum class Access { kGranted, kDenied, kThrottled, kRateLimited };

// Everything a connection needs from the server, whatever its stream: routing, auth, limits.
class HttpServerCore {
 public:
  HttpServerCore(std::map<std::string, HttpHandler> routes, Logger& log,
                 std::shared_ptr<const WebSecurity> security, const HttpLimits& limits)
      : routes_(std::move(routes)),
        log_(log),
        limits_(limits),
        security_(std::move(security)),
        connections_(limits.max_connections),
        auth_limiter_(limits.auth_burst, limits.auth_refill, kMaxAuthClients),
        auth_pool_(limits.auth_threads, limits.auth_max_pending),
        io_(limits.threads) {}

  ~HttpServerCore() {
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
    // Checks that wait are dropped with the connections they hold, while io_ is still there.
    auth_pool_.Stop();
  }
  HttpServerCore(const HttpServerCore&) = delete;
  HttpServerCore& operator=(const HttpServerCore&) = delete;

  Status Listen(const ListenAddress& address, const std::string& listen_address);
  void Run() {
    for (boost::asio::ip::tcp::acceptor& acceptor : acceptors_) Accept(acceptor);
    for (int i = 0; i < limits_.threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  // The web config's rate limit, then basic auth. `done` runs once: on this thread, or on a
  // bcrypt worker for credentials that were not verified before.
  void Authorize(const HttpRequest& request, const std::optional<std::string>& authorization,
                 const std::function<void(Access)>& done);
  // Respond, then the web config's headers.
  HttpResponse Serve(const HttpRequest& request, Access access);
  HttpResponse Respond(const HttpRequest& request, Access access);
  const HttpLimits& limits() const { return limits_; }
  std::shared_ptr<const WebSecurity> security() const {
    const std::lock_guard<std::mutex> lock(security_mutex_);
    return security_;
  }
  void Replace(std::shared_ptr<const WebSecurity> security) {
    const std::lock_guard<std::mutex> lock(security_mutex_);
    security_ = std::move(security);
  }
  // Replaces `expected` only: a reload that came in meanwhile wins over a rotation.
  void ReplaceIfCurrent(const std::shared_ptr<const WebSecurity>& expected,
                        std::shared_ptr<const WebSecurity> security) {
    const std::lock_guard<std::mutex> lock(security_mutex_);
    if (security_ == expected) security_ = std::move(security);
  }
  Logger& log() { return log_; }
  std::vector<int> ports() const;

  ConnectionTable& connections() { return connections_; }

 private:
  Status Bind(const boost::asio::ip::tcp::endpoint& endpoint, bool dual_stack);
  void Accept(boost::asio::ip::tcp::acceptor& acceptor);
  void Open(boost::asio::ip::tcp::socket socket);
  void ReloadRotatedCertificates();

  const std::map<std::string, HttpHandler> routes_;
  Logger& log_;
  const HttpLimits limits_;
  mutable std::mutex security_mutex_;
  std::shared_ptr<const WebSecurity> security_;
  std::mutex rotation_mutex_;
  std::chrono::steady_clock::time_point next_rotation_check_;
  ConnectionTable connections_;
  static constexpr std::size_t kMaxAuthClients = 4096;  // client addresses with their own bucket
  PasswordCheckLimiter auth_limiter_;
  PasswordCheckPool auth_pool_;
  // Declared after what the connections use: destroying the io_context destroys them.
  boost::asio::io_context io_;
  std::vector<boost::asio::ip::tcp::acceptor> acceptors_;
  std::vector<std::thread> threads_;
};

}  // namespace outcomes
