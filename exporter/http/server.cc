#include "exporter/http/server.h"

#include <civetweb.h>
#include <openssl/ssl.h>

#include <array>
#include <cstring>

namespace outcomes {
namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

bool AllDigits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<std::string> CivetListeningPorts(const std::string& listen_address) {
  const std::size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error("invalid listen address \"" + listen_address +
                         "\": expected host:port or :port");
  }
  const std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (!AllDigits(port) || std::stoul(port) > 65535) {
    return Status::Error("invalid port in listen address \"" + listen_address + "\"");
  }
  if (host.empty()) return port;  // every interface
  return host + ":" + port;       // "127.0.0.1:9477" and "[::1]:9477" alike
}

std::string HttpServer::TlsUnavailableReason() {
  if (mg_check_feature(2) == 0) return "TLS is unavailable: this civetweb was built without TLS";
  // Debian's civetweb loads OpenSSL at run time; this resolves its functions first.
  if ((mg_init_library(2) & 2) == 0) {
    return "TLS is unavailable: civetweb could not load OpenSSL (Debian 12's civetweb 1.15 looks "
           "up SSL_get_peer_certificate, which OpenSSL 3 no longer exports); terminate TLS in "
           "front of the exporter (a reverse proxy or a service mesh) and keep basic auth here";
  }
  return "";
}

HttpServer::HttpServer(std::map<std::string, HttpHandler> routes, Logger& log, const WebConfig& web)
    : routes_(std::move(routes)), log_(log), web_(web), auth_(web.basic_auth_users) {}

// civetweb hands over its SSL_CTX; the certificate, key, minimum version and client
// verification are set here with OpenSSL, from separate cert and key files.
int HttpServer::InitTls(void* ssl_context, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  auto* context = static_cast<SSL_CTX*>(ssl_context);
  const WebConfig& web = server->web_;
  const auto fail = [server](const std::string& what) {
    server->tls_error_ = what;
    return -1;
  };
  if (SSL_CTX_use_certificate_chain_file(context, web.cert_file.c_str()) != 1) {
    return fail("cannot load tls_server_config.cert_file \"" + web.cert_file + "\"");
  }
  if (SSL_CTX_use_PrivateKey_file(context, web.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    return fail("cannot load tls_server_config.key_file \"" + web.key_file +
                "\" (or it does not match the certificate)");
  }
  SSL_CTX_set_min_proto_version(context,
                                web.min_version == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!web.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, web.client_ca_file.c_str(), nullptr) != 1) {
      return fail("cannot load tls_server_config.client_ca_file \"" + web.client_ca_file + "\"");
    }
  }
  if (web.client_auth_type == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return 1;
}

HttpServer::~HttpServer() {
  if (context_ != nullptr) mg_stop(context_);
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen_address,
                                                      std::map<std::string, HttpHandler> routes,
                                                      Logger& log, const WebConfig& web) {
  Result<std::string> ports = CivetListeningPorts(listen_address);
  if (!ports.ok()) return ports.status();
  const std::string listening = ports.value() + (web.tls() ? "s" : "");
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(routes), log, web));
  if (web.tls()) {
    if (std::string reason = TlsUnavailableReason(); !reason.empty()) return Status::Error(reason);
  }
  const char* options[] = {
      "listening_ports", listening.c_str(),   "num_threads", "4",    "request_timeout_ms",
      "10000",           "enable_keep_alive", "yes",         nullptr};
  mg_callbacks callbacks{};
  if (web.tls()) callbacks.init_ssl = &HttpServer::InitTls;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  std::array<char, 256> error_text{};
  mg_error_data error{};
  error.text = error_text.data();
  error.text_buffer_size = error_text.size();
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    if (!server->tls_error_.empty()) return Status::Error(server->tls_error_);
    return Status::Error("cannot listen on " + listen_address + ": " +
                         (error_text[0] != '\0' ? std::string(error_text.data())
                                                : std::string("unknown civetweb error")));
  }
  mg_set_request_handler(server->context_, "/", &HttpServer::Dispatch, server.get());
  return server;
}

std::vector<int> HttpServer::ports() const {
  std::array<mg_server_port, 8> ports{};
  const int count = mg_get_server_ports(context_, static_cast<int>(ports.size()), ports.data());
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back(ports[static_cast<std::size_t>(i)].port);
  return out;
}

int HttpServer::Dispatch(mg_connection* connection, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  const mg_request_info* info = mg_get_request_info(connection);
  HttpRequest request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  request.path = info->local_uri != nullptr ? info->local_uri : "/";
  request.remote_address = info->remote_addr;

  HttpResponse response;
  const auto route = server->routes_.find(request.path);
  // Liveness stays open so that orchestrators can probe without credentials.
  if (server->auth_.enabled() && request.path != "/-/healthy" &&
      !server->auth_.Allows(mg_get_header(connection, "Authorization"))) {
    response.status = 401;
    response.body = "Unauthorized\n";
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"outcomes_exporter\"");
  } else if (route == server->routes_.end()) {
    response.status = 404;
    response.body = "404 page not found\n";
  } else {
    try {
      response = route->second(request);
    } catch (const std::exception& e) {
      server->log_.Error("http handler failed", {{"path", request.path}, {"err", e.what()}});
      response = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
  }
  mg_printf(connection, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
            response.status, StatusText(response.status), response.content_type.c_str(),
            response.body.size());
  for (const auto& [name, value] : response.headers) {
    mg_printf(connection, "%s: %s\r\n", name.c_str(), value.c_str());
  }
  mg_printf(connection, "\r\n");
  if (request.method != "HEAD") mg_write(connection, response.body.data(), response.body.size());
  return static_cast<int>(response.status);
}

}  // namespace outcomes
