#include "exporter/http/connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <string_view>
#include <type_traits>

namespace outcomes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// OpenSSL recognises an HTTP request line where a TLS ClientHello should be.
bool IsPlainHttp(const ErrorCode& error) {
  return error.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<std::uint64_t>(error.value())) == SSL_R_HTTP_REQUEST;
}

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

void OpenConnection(HttpServerCore& server, std::shared_ptr<const WebSecurity> security,
                    tcp::socket socket, std::string remote_address) {
  const auto start = [&server](const auto& connection) {
    if (connection->Admit()) return connection->Start();
    server.log().Debug("http connection refused: every connection is busy",
                       {{"max", std::to_string(server.limits().max_connections)}});
  };  // a refused connection's socket closes here
  if (security->tls) {
    ssl::context& tls = *security->tls;
    start(std::make_shared<Connection<TlsStream>>(
        std::move(security), TlsStream(std::move(socket), tls), server, std::move(remote_address)));
  } else {
    start(std::make_shared<Connection<beast::tcp_stream>>(std::move(security),
                                                          beast::tcp_stream(std::move(socket)),
                                                          server, std::move(remote_address)));
  }
}

}  // namespace outcomes
