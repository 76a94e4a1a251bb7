#include "exporter/probe/http_probe.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <ctime>

namespace outcomes {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::asio::ip::tcp;

// The earliest notAfter among the certificates the server presented (the leaf and whatever
// intermediates it sent), Unix seconds; nullopt when it presented none.
std::optional<double> EarliestNotAfter(SSL* ssl) {
  std::optional<double> earliest;
  const auto consider = [&earliest](const X509* certificate) {
    std::tm expiry{};
    if (certificate == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &expiry) != 1) {
      return;
    }
    const auto seconds = static_cast<double>(timegm(&expiry));
    if (!earliest || seconds < *earliest) earliest = seconds;
  };
  // On the client side the peer chain includes the server's own certificate.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) consider(sk_X509_value(chain, i));
  }
  if (!earliest) consider(SSL_get0_peer_certificate(ssl));
  return earliest;
}

bool IsTlsError(const boost::system::error_code& error) {
  return error.category() == boost::asio::error::get_ssl_category() ||
         error == boost::asio::ssl::error::stream_truncated;
}

// The request's life: resolve, connect, (TLS handshake), write, read. A single deadline on the
// whole exchange, enforced by a timer that closes the socket, covers every step, including a
// server that sends its headers and then hangs.
template <typename Stream>
class Probe : public std::enable_shared_from_this<Probe<Stream>> {
 public:
  Probe(boost::asio::io_context& io, ProbeRequest request, std::function<void(ProbeResponse)> done,
        std::unique_ptr<Stream> stream)
      : request_(std::move(request)),
        done_(std::move(done)),
        resolver_(io),
        deadline_(io),
        stream_(std::move(stream)) {}

  void Start() {
    started_ = std::chrono::steady_clock::now();
    deadline_.expires_after(request_.timeout);
    deadline_.async_wait([self = this->shared_from_this()](const boost::system::error_code& error) {
      if (error) return;  // cancelled: the probe finished first
      self->timed_out_ = true;
      self->resolver_.cancel();
      beast::get_lowest_layer(*self->stream_).close();
    });
    resolver_.async_resolve(
        request_.url.host, request_.url.port,
        [self = this->shared_from_this()](const boost::system::error_code& error,
                                          tcp::resolver::results_type results) {
          self->OnResolve(error, std::move(results));
        });
  }

 private:
  void OnResolve(const boost::system::error_code& error, tcp::resolver::results_type results) {
    if (error) return Fail(ProbeFailure::kConnect, "resolve " + request_.url.host, error);
    beast::get_lowest_layer(*stream_).async_connect(
        results, [self = this->shared_from_this()](const boost::system::error_code& connect_error,
                                                   const tcp::endpoint&) {
          self->OnConnect(connect_error);
        });
  }

  void OnConnect(const boost::system::error_code& error) {
    if (error) return Fail(ProbeFailure::kConnect, "connect", error);
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      const std::string& name =
          request_.tls_server_name.empty() ? request_.url.host : request_.tls_server_name;
      SSL_set_tlsext_host_name(stream_->native_handle(), name.c_str());
      if (request_.verify_peer) {
        // OpenSSL checks the certificate's names against `name` during the handshake.
        SSL_set1_host(stream_->native_handle(), name.c_str());
        stream_->set_verify_mode(boost::asio::ssl::verify_peer);
      } else {
        stream_->set_verify_mode(boost::asio::ssl::verify_none);
      }
      stream_->async_handshake(
          boost::asio::ssl::stream_base::client,
          [self = this->shared_from_this()](const boost::system::error_code& e) {
            if (e) return self->Fail(ProbeFailure::kTls, "TLS handshake", e);
            self->tls_not_after_seconds_ = EarliestNotAfter(self->stream_->native_handle());
            self->Write();
          });
    } else {
      Write();
    }
  }

  void Write() {
    request_message_.method_string(request_.method);
    request_message_.target(request_.url.target);
    request_message_.version(11);
    request_message_.set(http::field::host, request_.url.host);
    request_message_.set(http::field::user_agent, "outcomes_exporter");
    request_message_.set(http::field::connection, "close");
    // Before the configured headers, so that a Content-Type among them wins.
    if (!request_.body.empty()) request_message_.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : request_.headers) request_message_.set(name, value);
    if (!request_.body.empty()) {
      request_message_.body() = request_.body;
      request_message_.prepare_payload();
    }
    http::async_write(
        *stream_, request_message_,
        [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t) {
          if (error) return self->FailAfterHandshake("send request", error);
          self->Read();
        });
  }

  // The header first, so that a declared Content-Length over the limit is refused before any
  // body byte is read, instead of reading a trickling body until the deadline.
  void Read() {
    parser_.body_limit(request_.max_body_bytes);
    http::async_read_header(
        *stream_, buffer_, parser_,
        [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t) {
          self->OnHeader(error);
        });
  }

  void OnHeader(const boost::system::error_code& error) {
    // Boost 1.74's parser reports a Content-Length over body_limit as a body_limit error of the
    // header read itself; the explicit check covers parsers that leave it to the body.
    const bool declared_too_large =
        !error && parser_.content_length() && *parser_.content_length() > request_.max_body_bytes;
    if (error == http::error::body_limit || declared_too_large) return FailTooLarge();
    if (error) return OnRead(error);
    http::async_read(*stream_, buffer_, parser_,
                     [self = this->shared_from_this()](const boost::system::error_code& read_error,
                                                       std::size_t) { self->OnRead(read_error); });
  }

  void FailTooLarge() {
    Fail(ProbeFailure::kBodyTooLarge,
         "body larger than " + std::to_string(request_.max_body_bytes) + " bytes", {});
  }

  void OnRead(const boost::system::error_code& error) {
    if (error == http::error::body_limit ||
        (!error && parser_.get().body().size() > request_.max_body_bytes)) {
      return FailTooLarge();
    }
    // A server may close a TLS connection without close_notify; the body is complete anyway
    // when the parser says so.
    if (error && !(parser_.is_done() && IsTlsError(error))) {
      return FailAfterHandshake("read response", error);
    }
    ProbeResponse response;
    response.status_code = static_cast<int>(parser_.get().result_int());
    for (const auto& field : parser_.get()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(parser_.get().body());
    Finish(std::move(response));
  }

  // With TLS 1.3 a server checks the client certificate after the client's handshake is done,
  // so its refusal shows up as an alert or a closed connection on the first write or read.
  // Before any response byte arrived, that is a TLS failure, not a network one.
  void FailAfterHandshake(const std::string& step, const boost::system::error_code& error) {
    constexpr bool kTlsStream = std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;
    const bool refused_before_response =
        kTlsStream && !parser_.got_some() &&
        (error == boost::asio::error::connection_reset || error == boost::asio::error::eof ||
         error == http::error::end_of_stream);
    if (IsTlsError(error) || refused_before_response) {
      return Fail(ProbeFailure::kTls, step + " (TLS connection refused by the server)", error);
    }
    Fail(ProbeFailure::kConnect, step, error);
  }

  void Fail(ProbeFailure failure, const std::string& step, const boost::system::error_code& error) {
    ProbeResponse response;
    if (timed_out_) {
      response.failure = ProbeFailure::kTimeout;
      response.error =
          "timed out after " + FormatDuration(request_.timeout) + " (during " + step + ")";
    } else {
      response.failure = failure;
      response.error = error ? step + ": " + error.message() : step;
    }
    Finish(std::move(response));
  }

  void Finish(ProbeResponse response) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*stream_).close();
    response.tls_not_after_seconds = tls_not_after_seconds_;
    response.seconds = std::chrono::duration_cast<std::chrono::duration<double>>(
                           std::chrono::steady_clock::now() - started_)
                           .count();
    done_(std::move(response));
  }

  ProbeRequest request_;
  std::function<void(ProbeResponse)> done_;
  tcp::resolver resolver_;
  boost::asio::steady_timer deadline_;
  std::unique_ptr<Stream> stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_message_;
  http::response_parser<http::string_body> parser_;
  std::chrono::steady_clock::time_point started_{};
  bool timed_out_ = false;
  bool finished_ = false;
  std::optional<double> tls_not_after_seconds_;
};

}  // namespace

void StartHttpProbe(boost::asio::io_context& io, ProbeRequest request,
                    std::function<void(ProbeResponse)> done) {
  if (request.url.https) {
    if (!request.tls) {
      ProbeResponse response;
      response.failure = ProbeFailure::kTls;
      response.error = "no TLS context for an https URL";
      done(std::move(response));
      return;
    }
    auto stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *request.tls);
    std::make_shared<Probe<beast::ssl_stream<beast::tcp_stream>>>(
        io, std::move(request), std::move(done), std::move(stream))
        ->Start();
    return;
  }
  auto stream = std::make_unique<beast::tcp_stream>(io);
  std::make_shared<Probe<beast::tcp_stream>>(io, std::move(request), std::move(done),
                                             std::move(stream))
      ->Start();
}

namespace {

class BeastTransport : public HttpTransport {
 public:
  void Start(boost::asio::io_context& io, ProbeRequest request,
             std::function<void(ProbeResponse)> done) override {
    StartHttpProbe(io, std::move(request), std::move(done));
  }
};

}  // namespace

std::shared_ptr<HttpTransport> BeastHttpTransport() { return std::make_shared<BeastTransport>(); }

}  // namespace outcomes
