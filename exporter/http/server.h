// HttpServer: a small HTTP/1.1 server (Boost.Beast) with exact-path routes, over plain TCP or
// TLS (OpenSSL). Handlers run on the server's own threads, concurrently, so they must be
// thread-safe. Every request is bounded in size and time, and connections in number, so that
// a misbehaving client cannot starve Prometheus' scrapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/core/log.h"
#include "exporter/core/status.h"
#include "exporter/http/web_config.h"

namespace outcomes {

struct HttpRequest {
  std::string method;
  std::string path;  // the target without its query string
  std::string remote_address;
  std::string accept_encoding;  // the Accept-Encoding header, empty without one
};

// Whether an Accept-Encoding value (RFC 9110 12.5.3) accepts gzip: "gzip", "x-gzip" or "*" with
// a q-value above 0; an explicit gzip entry wins over "*".
bool AcceptsGzip(std::string_view accept_encoding);

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  // Open connections. When all are taken, a new one evicts the connection that has waited
  // longest on its client: first those that never sent a complete request, then idle kept-alive
  // ones; it is closed on accept only when every connection is busy answering.
  std::size_t max_connections = 64;
  std::uint32_t max_header_bytes = 8 * 1024U;   // request line and headers; more gets 431
  std::uint64_t max_body_bytes = 64 * 1024ULL;  // no route reads a body; more gets 413
  // For a complete request head: from the connection's opening (TLS handshake included) for the
  // first request, from the previous response for the next ones (the keep-alive idle time).
  Duration header_timeout = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(10);  // the rest of a request (its body), each write
  int threads = 4;
  // Credentials not verified before need a bcrypt check (about 250 ms at cost 12). Each client
  // address may start auth_burst of them at once, then one per auth_refill; beyond that, or
  // while auth_max_pending checks are running or waiting, the answer is 429 without bcrypt.
  int auth_burst = 10;
  Duration auth_refill = std::chrono::seconds(1);
  // Threads that run bcrypt, apart from the I/O threads, so that a flood of wrong passwords
  // cannot hold up scrapes whose credentials verified before.
  int auth_threads = 1;
  std::size_t auth_max_pending = 8;
  // How often, at most, a new connection checks whether the TLS files were replaced.
  Duration certificate_check_interval = std::chrono::seconds(5);
};

// Where to listen: "host:port", ":port" (every interface, IPv6 and IPv4 where the machine has
// both), "[::1]:port". Host names resolve to every address they have.
struct ListenAddress {
  std::string host;  // empty: every interface; brackets removed
  std::uint16_t port = 0;
};
Result<ListenAddress> ParseListenAddress(const std::string& listen_address);

class HttpServerCore;

class HttpServer {
 public:
  // Starts listening; the error says why binding or loading the TLS files failed.
  // `web` adds TLS and basic auth (exporter-toolkit web config); /-/healthy stays open.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen_address,
                                                   std::map<std::string, HttpHandler> routes,
                                                   Logger& log, const WebConfig& web = {},
                                                   const HttpLimits& limits = {});
  // Stops accepting, closes every connection and joins the threads; a handler that is running
  // finishes first.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Builds the TLS context `web` asks for (certificate, key, client CA), as Start would.
  static Status CheckTls(const WebConfig& web);

  // Applies a new web config to the connections that open from now on: plain or TLS, the
  // certificates, basic auth users. On error nothing changes.
  Status Reconfigure(const WebConfig& web);

  // The ports actually bound (useful with port 0 in tests).
  std::vector<int> ports() const;

 private:
  explicit HttpServer(std::unique_ptr<HttpServerCore> core);
  std::unique_ptr<HttpServerCore> core_;
};

}  // namespace outcomes
