#include "exporter/http/server_core.h"

#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "exporter/http/connection.h"

namespace outcomes {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;

const char* const kHealthPath = "/-/healthy";

}  // namespace

Result<std::shared_ptr<const WebSecurity>> MakeWebSecurity(const WebConfig& web) {
  auto security = std::make_shared<WebSecurity>();
  security->web = web;
  security->auth = std::make_shared<BasicAuth>(web.basic_auth_users);
  if (web.rate_limit.enabled()) {
    security->limiter =
        std::make_shared<RateLimiter>(web.rate_limit.interval, web.rate_limit.burst);
  }
  if (web.tls()) {
    // Stamped before loading: a file replaced while it loads is loaded again next time.
    security->tls_files = StampTlsFiles(web);
    Result<std::shared_ptr<ssl::context>> context = MakeTlsContext(web);
    if (!context.ok()) return context.status();
    security->tls = std::move(context).value();
  }
  return std::shared_ptr<const WebSecurity>(std::move(security));
}

void HttpServerCore::Authorize(const HttpRequest& request,
                               const std::optional<std::string>& authorization,
                               const std::function<void(Access)>& done) {
  const std::shared_ptr<const WebSecurity> current = security();
  // One bucket for every client, as the exporter-toolkit's; liveness is never limited.
  if (current->limiter && request.path != kHealthPath && !current->limiter->Allow()) {
    return done(Access::kRateLimited);
  }
  const std::shared_ptr<BasicAuth> auth = current->auth;
  // Liveness stays open so that orchestrators can probe without credentials.
  if (!auth->enabled() || request.path == kHealthPath) return done(Access::kGranted);
  BasicAuth::Credentials credentials;
  switch (auth->Check(authorization ? authorization->c_str() : nullptr, credentials)) {
    case BasicAuth::Precheck::kAllowed: return done(Access::kGranted);
    case BasicAuth::Precheck::kRefused: return done(Access::kDenied);
    case BasicAuth::Precheck::kNeedsBcrypt: break;
  }
  if (!auth_limiter_.TryTake(ClientKey(request.remote_address), std::chrono::steady_clock::now())) {
    return done(Access::kThrottled);
  }
  const bool queued = auth_pool_.TrySubmit([auth, credentials = std::move(credentials), done] {
    done(auth->Verify(credentials) ? Access::kGranted : Access::kDenied);
  });
  if (!queued) done(Access::kThrottled);
}

HttpResponse HttpServerCore::Serve(const HttpRequest& request, Access access) {
  HttpResponse response = Respond(request, access);
  // In front, so that a handler's own value of the header wins, as in Go's handlers.
  for (const auto& [name, value] : security()->web.headers) {
    if (!value.empty()) response.headers.emplace(response.headers.begin(), name, value);
  }
  return response;
}

HttpResponse HttpServerCore::Respond(const HttpRequest& request, Access access) {
  if (access == Access::kRateLimited) {
    return {429,
            "text/plain; charset=utf-8",
            "Too Many Requests\n",
            {{"X-Content-Type-Options", "nosniff"}}};
  }
  if (access == Access::kDenied) {
    return {401,
            "text/plain; charset=utf-8",
            "Unauthorized\n",
            {{"WWW-Authenticate", "Basic realm=\"outcomes_exporter\""}}};
  }
  if (access == Access::kThrottled) {
    const auto retry = std::chrono::ceil<std::chrono::seconds>(limits_.auth_refill).count();
    return {429,
            "text/plain; charset=utf-8",
            "too many password checks; try again later\n",
            {{"Retry-After", std::to_string(std::max<std::int64_t>(1, retry))}}};
  }
  const auto route = routes_.find(request.path);
  if (route == routes_.end()) return {404, "text/plain; charset=utf-8", "404 page not found\n", {}};
  try {
    return route->second(request);
  } catch (const std::exception& e) {
    log_.Error("http handler failed", {{"path", request.path}, {"err", e.what()}});
    return {500, "text/plain; charset=utf-8", "internal error\n", {}};
  }
}

Status HttpServerCore::Bind(const tcp::endpoint& endpoint, bool dual_stack) {
  tcp::acceptor acceptor(io_);
  ErrorCode error;
  acceptor.open(endpoint.protocol(), error);
  if (!error && dual_stack) acceptor.set_option(asio::ip::v6_only(false), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return Status::Error(error.message());
  acceptors_.push_back(std::move(acceptor));
  return Status::Ok();
}

Status HttpServerCore::Listen(const ListenAddress& address, const std::string& listen_address) {
  const auto failed = [&](const std::string& why) {
    return Status::Error("cannot listen on " + listen_address + ": " + why);
  };
  if (address.host.empty()) {
    // Every interface: one dual-stack IPv6 socket, or IPv4 alone where IPv6 is off.
    if (Bind(tcp::endpoint(tcp::v6(), address.port), true).ok()) return Status::Ok();
    const Status v4 = Bind(tcp::endpoint(tcp::v4(), address.port), false);
    return v4.ok() ? v4 : failed(v4.message());
  }
  ErrorCode error;
  tcp::resolver resolver(io_);
  const auto results =
      resolver.resolve(address.host, std::to_string(address.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, error);
  if (error) return failed(error.message());
  for (const auto& result : results) {
    if (Status bound = Bind(result.endpoint(), false); !bound.ok()) {
      // Say which address of a host name failed; a literal address says it already.
      const std::string ip = result.endpoint().address().to_string();
      return failed(ip == address.host ? bound.message() : ip + ": " + bound.message());
    }
    // Port 0 picks one port; the other addresses of the name take the same one.
    if (address.port == 0) break;
  }
  return acceptors_.empty() ? failed("the host name has no address") : Status::Ok();
}

void HttpServerCore::Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(
      asio::make_strand(io_), [this, &acceptor](const ErrorCode& error, tcp::socket socket) {
        if (error == asio::error::operation_aborted) return;
        if (error) {
          // Out of file descriptors, typically: wait a little rather than spin.
          log_.Warn("http accept failed", {{"err", error.message()}});
          auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
          timer->async_wait([this, &acceptor, timer](const ErrorCode&) { Accept(acceptor); });
          return;
        }
        Open(std::move(socket));
        Accept(acceptor);
      });
}

void HttpServerCore::Open(tcp::socket socket) {
  ErrorCode error;
  // A TLS response goes out as several records; with Nagle's algorithm the last one would
  // wait for the client's delayed ACK (40 ms on Linux) on every kept-alive scrape.
  socket.set_option(tcp::no_delay(true), error);
  const tcp::endpoint remote = socket.remote_endpoint(error);
  std::string remote_address = error ? "unknown" : remote.address().to_string();
  ReloadRotatedCertificates();
  OpenConnection(*this, security(), std::move(socket), std::move(remote_address));
}

// Certificates are rotated in place (cert-manager, a renewal cron job); new connections get the
// new ones without a restart. A broken replacement keeps the previous certificate serving.
void HttpServerCore::ReloadRotatedCertificates() {
  const std::shared_ptr<const WebSecurity> current = security();
  if (!current->tls) return;
  {
    const std::lock_guard<std::mutex> lock(rotation_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_rotation_check_) return;
    next_rotation_check_ = now + limits_.certificate_check_interval;
  }
  if (StampTlsFiles(current->web) == current->tls_files) return;
  Result<std::shared_ptr<const WebSecurity>> rotated = MakeWebSecurity(current->web);
  if (!rotated.ok()) {
    log_.Error("cannot reload the rotated TLS files; serving the previous ones",
               {{"err", rotated.error()}});
    // Not again until the files change once more.
    auto unchanged = std::make_shared<WebSecurity>(*current);
    unchanged->tls_files = StampTlsFiles(current->web);
    ReplaceIfCurrent(current, std::move(unchanged));
    return;
  }
  ReplaceIfCurrent(current, std::move(rotated).value());
  log_.Info("TLS files reloaded", {{"cert_file", current->web.cert_file}});
}

std::vector<int> HttpServerCore::ports() const {
  std::vector<int> ports;
  for (const tcp::acceptor& acceptor : acceptors_) {
    ErrorCode error;
    const tcp::endpoint local = acceptor.local_endpoint(error);
    if (!error) ports.push_back(local.port());
  }
  return ports;
}
}  // namespace outcomes
