// HttpServer: a small civetweb server with exact-path routes. Handlers run on civetweb's
// worker threads, concurrently, so they must be thread-safe. Request bodies are capped.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/core/status.h"
#include "exporter/http/basic_auth.h"

struct mg_context;
struct mg_connection;

namespace outcomes {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string remote_address;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Starts listening on `listen_address` ("host:port", ":port" for every interface, or
  // "[::1]:port"). The error says why binding failed.
  // `web` adds TLS and basic auth (exporter-toolkit web config); /-/healthy stays open.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen_address,
                                                   std::map<std::string, HttpHandler> routes,
                                                   Logger& log, const WebConfig& web = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Empty when this civetweb can serve TLS; otherwise why not.
  static std::string TlsUnavailableReason();

  // The ports actually bound (useful with port 0 in tests).
  std::vector<int> ports() const;

 private:
  HttpServer(std::map<std::string, HttpHandler> routes, Logger& log, const WebConfig& web);
  static int Dispatch(mg_connection* connection, void* self);
  static int InitTls(void* ssl_context, void* self);

  std::map<std::string, HttpHandler> routes_;
  Logger& log_;
  const WebConfig web_;
  BasicAuth auth_;
  std::string tls_error_;
  mg_context* context_ = nullptr;
};

// Converts a Prometheus-style listen address to civetweb's listening_ports syntax.
Result<std::string> CivetListeningPorts(const std::string& listen_address);

}  // namespace outcomes
