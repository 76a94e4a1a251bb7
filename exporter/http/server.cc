#include "exporter/http/server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "exporter/http/basic_auth.h"
#include "exporter/http/rate_limiter.h"
#include "exporter/http/tls_context.h"

namespace outcomes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

bool AllDigits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// OpenSSL recognises an HTTP request line where a TLS ClientHello should be.
bool IsPlainHttp(const ErrorCode& error) {
  return error.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<std::uint64_t>(error.value())) == SSL_R_HTTP_REQUEST;
}

const char* const kHealthPath = "/-/healthy";

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

// What the web config decides, replaced whole by a reload or a certificate rotation;
// connections keep the one they started with.
struct WebSecurity {
  WebConfig web;
  std::shared_ptr<ssl::context> tls;  // null: plain HTTP
  std::shared_ptr<BasicAuth> auth;
  std::shared_ptr<RateLimiter> limiter;  // null: unlimited
  std::vector<FileStamp> tls_files;
};

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

// A connection the server may close to make room for a new one.
class Evictable {
 public:
  virtual ~Evictable() = default;
  virtual void Evict() = 0;
};

// The open connections and what each is doing, so that a full server makes room by closing the
// one that has held a slot longest without asking for anything. Thread-safe.
class ConnectionTable {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ConnectionTable(std::size_t capacity) : capacity_(capacity) {}

  // Takes a slot for `connection`, which waits for its first request. When every slot is taken,
  // evicts the connection that has waited longest, preferring one that never sent a complete
  // request to an idle kept-alive one. Returns 0 (no slot) when every connection is busy.
  std::uint64_t Admit(const std::weak_ptr<Evictable>& connection) {
    std::shared_ptr<Evictable> victim;
    std::uint64_t id = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (entries_.size() >= capacity_) {
        const auto oldest = OldestWaiting();
        if (oldest == entries_.end()) return 0;
        victim = oldest->second.connection.lock();
        entries_.erase(oldest);
      }
      id = next_id_++;
      entries_.emplace(id, Entry{connection, State::kFirstRequest, Clock::now()});
    }
    if (victim) victim->Evict();
    return id;
  }
  // The connection waits for its next request (kept alive).
  void Waiting(std::uint64_t id) { Set(id, State::kNextRequest); }
  // The connection has read a request and is answering it.
  void Busy(std::uint64_t id) { Set(id, State::kBusy); }
  void Remove(std::uint64_t id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(id);
  }

 private:
  // Declared in eviction order.
  enum class State { kFirstRequest, kNextRequest, kBusy };
  struct Entry {
    std::weak_ptr<Evictable> connection;
    State state;
    Clock::time_point since;
  };

  void Set(std::uint64_t id, State state) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (const auto found = entries_.find(id); found != entries_.end()) {
      found->second.state = state;
      found->second.since = Clock::now();
    }
  }

  // A linear scan: the table holds max_connections entries, 64 by default.
  std::map<std::uint64_t, Entry>::iterator OldestWaiting() {
    auto oldest = entries_.end();
    for (auto entry = entries_.begin(); entry != entries_.end(); ++entry) {
      if (entry->second.state == State::kBusy) continue;
      if (oldest == entries_.end() || std::pair(entry->second.state, entry->second.since) <
                                          std::pair(oldest->second.state, oldest->second.since)) {
        oldest = entry;
      }
    }
    return oldest;
  }

  const std::size_t capacity_;
  std::mutex mutex_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 1;  // 0 means no slot
};

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
    for (tcp::acceptor& acceptor : acceptors_) Accept(acceptor);
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
  Status Bind(const tcp::endpoint& endpoint, bool dual_stack);
  void Accept(tcp::acceptor& acceptor);
  void Open(tcp::socket socket);
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
  asio::io_context io_;
  std::vector<tcp::acceptor> acceptors_;
  std::vector<std::thread> threads_;
};

namespace {

// One connection: (TLS handshake,) then requests in turn until the client closes, an error, a
// timeout, or a response that closes. Each step runs on the connection's strand.
template <typename Stream>
class Connection : public Evictable, public std::enable_shared_from_this<Connection<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `security` keeps the TLS context that `stream` uses alive.
  Connection(std::shared_ptr<const WebSecurity> security, Stream stream, HttpServerCore& server,
             std::string remote_address)
      : security_(std::move(security)),
        stream_(std::move(stream)),
        server_(server),
        remote_address_(std::move(remote_address)) {}
  ~Connection() override { server_.connections().Remove(id_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // False when the server is full of connections that are all busy.
  bool Admit() {
    id_ = server_.connections().Admit(this->weak_from_this());
    return id_ != 0;
  }

  void Evict() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->server_.log().Debug("http connection evicted to make room for a new one",
                                {{"remote", self->remote_address_}});
      beast::get_lowest_layer(self->stream_).close();
    });
  }

  void Start() {
    // The handshake and the first request head share one deadline, so that a client that
    // connects and then trickles or says nothing frees its slot within header_timeout.
    Deadline(server_.limits().header_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](const ErrorCode& error) {
                                if (IsPlainHttp(error)) return self->AnswerPlainHttp();
                                if (error) return self->Dropped("TLS handshake", error);
                                self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  // A client that speaks plain HTTP to the HTTPS port (a scrape config without
  // `scheme: https`) gets a readable 400 instead of a reset, as Go's servers answer.
  void AnswerPlainHttp() {
    static constexpr std::string_view kAnswer =
        "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Connection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    asio::async_write(beast::get_lowest_layer(stream_), asio::buffer(kAnswer),
                      [self = this->shared_from_this()](const ErrorCode&, std::size_t) {
                        ErrorCode ignored;
                        beast::get_lowest_layer(self->stream_)
                            .socket()
                            .shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  void Deadline(Duration timeout) { beast::get_lowest_layer(stream_).expires_after(timeout); }
  void Deadline() { Deadline(server_.limits().timeout); }

  // The head within header_timeout, then the body (if any) within timeout.
  void Read() {
    parser_.emplace();
    parser_->header_limit(server_.limits().max_header_bytes);
    parser_->body_limit(server_.limits().max_body_bytes);
    if (served_) {
      server_.connections().Waiting(id_);
      Deadline(server_.limits().header_timeout);
    }
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](const ErrorCode& error, std::size_t) {
                              if (error || self->parser_->is_done()) return self->OnRead(error);
                              self->Deadline();
                              http::async_read(self->stream_, self->buffer_, *self->parser_,
                                               [self](const ErrorCode& body_error, std::size_t) {
                                                 self->OnRead(body_error);
                                               });
                            });
  }

  void OnRead(const ErrorCode& error) {
    served_ = true;
    server_.connections().Busy(id_);
    if (error == http::error::end_of_stream) return Close();
    if (error == http::error::body_limit) return Reject(413, "request body too large\n");
    if (error == http::error::header_limit) {
      return Reject(431, "request header fields too large\n");
    }
    if (error && error.category() == http::make_error_code(http::error::bad_target).category()) {
      return Reject(400, "bad request\n");
    }
    if (error) return Dropped("read", error);

    const http::request<http::string_body>& request = parser_->get();
    HttpRequest routed;
    const beast::string_view method = request.method_string();
    routed.method.assign(method.data(), method.size());
    const beast::string_view target = request.target();
    const beast::string_view path = target.substr(0, target.find('?'));
    routed.path.assign(path.data(), path.size());
    routed.remote_address = remote_address_;
    if (auto found = request.find(http::field::accept_encoding); found != request.end()) {
      routed.accept_encoding.assign(found->value().data(), found->value().size());
    }
    std::optional<std::string> authorization;
    if (auto found = request.find(http::field::authorization); found != request.end()) {
      authorization.emplace(found->value().data(), found->value().size());
    }
    const bool head = request.method() == http::verb::head;
    const bool keep_alive = request.keep_alive();
    server_.Authorize(routed, authorization,
                      [self = this->shared_from_this(), routed, head, keep_alive](Access access) {
                        asio::dispatch(
                            self->stream_.get_executor(), [self, routed, head, keep_alive, access] {
                              self->Write(self->server_.Serve(routed, access), head, keep_alive);
                            });
                      });
  }

  // The request cannot be read to its end: answer, then close.
  void Reject(int status, std::string body) {
    Write(HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}}, false, false);
  }

  void Write(HttpResponse response, bool head, bool keep_alive) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(response.status));
    response_.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) response_.set(name, value);
    response_.keep_alive(keep_alive);
    const std::size_t length = response.body.size();
    if (!head) response_.body() = std::move(response.body);
    response_.content_length(length);
    Deadline();
    http::async_write(
        stream_, response_,
        [self = this->shared_from_this(), keep_alive](const ErrorCode& error, std::size_t) {
          if (error) return self->Dropped("write", error);
          if (!keep_alive) return self->Close();
          self->Read();
        });
  }

  void Close() {
    if constexpr (kTls) {
      Deadline();
      stream_.async_shutdown([self = this->shared_from_this()](const ErrorCode&) {});
    } else {
      ErrorCode ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  // Clients that vanish or time out are routine; a debug line is enough.
  void Dropped(std::string_view step, const ErrorCode& error) {
    server_.log().Debug(
        "http connection closed",
        {{"remote", remote_address_}, {"step", std::string(step)}, {"err", error.message()}});
  }

  const std::shared_ptr<const WebSecurity> security_;
  Stream stream_;
  HttpServerCore& server_;
  const std::string remote_address_;
  std::uint64_t id_ = 0;  // the slot in the server's connection table
  bool served_ = false;   // a request came in: the next ones are on a kept-alive connection
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

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
  std::shared_ptr<const WebSecurity> current = security();
  const auto start = [this](const auto& connection) {
    if (connection->Admit()) return connection->Start();
    log_.Debug("http connection refused: every connection is busy",
               {{"max", std::to_string(limits_.max_connections)}});
  };  // a refused connection's socket closes here
  if (current->tls) {
    ssl::context& tls = *current->tls;
    start(std::make_shared<Connection<TlsStream>>(
        std::move(current), TlsStream(std::move(socket), tls), *this, std::move(remote_address)));
  } else {
    start(std::make_shared<Connection<beast::tcp_stream>>(std::move(current),
                                                          beast::tcp_stream(std::move(socket)),
                                                          *this, std::move(remote_address)));
  }
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
