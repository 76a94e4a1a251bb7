#include "exporter/http/server.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "exporter/http/server_core.h"
#include "exporter/http/tls_context.h"

namespace outcomes {
namespace {

bool AllDigits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

std::string_view TrimSpaces(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The q-value of one Accept-Encoding entry's parameters: 1 without one, 0 when malformed, so
// that an entry we cannot read never turns compression on.
double QValue(std::string_view parameters) {
  while (!parameters.empty()) {
    const std::size_t semicolon = parameters.find(';');
    const std::string_view parameter = TrimSpaces(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? "" : parameters.substr(semicolon + 1);
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos ||
        !EqualsIgnoringCase(TrimSpaces(parameter.substr(0, equals)), "q")) {
      continue;
    }
    const std::string_view value = TrimSpaces(parameter.substr(equals + 1));
    double q = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), q);
    if (error != std::errc() || end != value.data() + value.size() || !(q >= 0)) return 0;
    return q;
  }
  return 1;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<double> gzip;
  std::optional<double> any;
  while (!accept_encoding.empty()) {
    const std::size_t comma = accept_encoding.find(',');
    const std::string_view entry = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? "" : accept_encoding.substr(comma + 1);
    const std::size_t semicolon = entry.find(';');
    const std::string_view coding = TrimSpaces(entry.substr(0, semicolon));
    const std::string_view parameters =
        semicolon == std::string_view::npos ? "" : entry.substr(semicolon + 1);
    if (EqualsIgnoringCase(coding, "gzip") || EqualsIgnoringCase(coding, "x-gzip")) {
      gzip = QValue(parameters);
    } else if (coding == "*") {
      any = QValue(parameters);
    }
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

Result<ListenAddress> ParseListenAddress(const std::string& listen_address) {
  const std::size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error("invalid listen address \"" + listen_address +
                         "\": expected host:port or :port");
  }
  ListenAddress address;
  address.host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (!AllDigits(port) || port.size() > 5 || std::stoul(port) > 65535) {
    return Status::Error("invalid port in listen address \"" + listen_address + "\"");
  }
  address.port = static_cast<std::uint16_t>(std::stoul(port));
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  } else if (address.host.find(':') != std::string::npos) {
    return Status::Error("invalid listen address \"" + listen_address +
                         "\": put an IPv6 address in brackets, as in [::1]:9477");
  }
  return address;
}

HttpServer::HttpServer(std::unique_ptr<HttpServerCore> core) : core_(std::move(core)) {}
HttpServer::~HttpServer() = default;

Status HttpServer::CheckTls(const WebConfig& web) {
  if (!web.tls()) return Status::Ok();
  return MakeTlsContext(web).status();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen_address,
                                                      std::map<std::string, HttpHandler> routes,
                                                      Logger& log, const WebConfig& web,
                                                      const HttpLimits& limits) {
  Result<ListenAddress> address = ParseListenAddress(listen_address);
  if (!address.ok()) return address.status();
  Result<std::shared_ptr<const WebSecurity>> security = MakeWebSecurity(web);
  if (!security.ok()) return security.status();
  auto core =
      std::make_unique<HttpServerCore>(std::move(routes), log, std::move(security).value(), limits);
  if (Status listening = core->Listen(address.value(), listen_address); !listening.ok()) {
    return listening;
  }
  core->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core)));
}

Status HttpServer::Reconfigure(const WebConfig& web) {
  Result<std::shared_ptr<const WebSecurity>> security = MakeWebSecurity(web);
  if (!security.ok()) return security.status();
  core_->Replace(std::move(security).value());
  return Status::Ok();
}

std::vector<int> HttpServer::ports() const { return core_->ports(); }

}  // namespace outcomes
