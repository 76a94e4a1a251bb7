// The seam for outgoing HTTP(S) requests: what endpoint probes and registry queries ask
// (ProbeRequest), what they get back (ProbeResponse) and HttpTransport, the interface that
// performs one exchange. The product uses the Boost.Beast/OpenSSL client (http_probe.h); unit
// tests script answers with tests/support/fake_transport.h. The structs are plain values.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/core/status.h"

namespace outcomes {

struct ParsedUrl {
  bool https = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, at least "/"
};

Result<ParsedUrl> ParseUrl(const std::string& url);

// Why a probe failed; a bounded set, exported as the `reason` label.
// kHttpStatus, kParse and kUnexpectedBody are decided by the caller.
enum class ProbeFailure {
  kNone,
  kTimeout,
  kConnect,
  kTls,
  kHttpStatus,
  kBodyTooLarge,
  kParse,
  kUnexpectedBody
};
const char* ProbeFailureName(ProbeFailure failure);
// Every reason but kNone, for exporting zeros before the first failure.
const std::vector<ProbeFailure>& AllProbeFailures();

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct ProbeRequest {
  ParsedUrl url;
  std::string method = "GET";
  HttpHeaders headers;
  std::string body;  // sent with Content-Type application/json when not empty
  Duration timeout = std::chrono::seconds(2);
  std::size_t max_body_bytes = 1 << 20;
  // Required for https URLs; shared by every probe of one endpoint.
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string tls_server_name;  // SNI and certificate name; default: the URL's host
  bool verify_peer = true;
};

struct ProbeResponse {
  ProbeFailure failure = ProbeFailure::kNone;  // kHttpStatus is decided by the caller
  std::string error;                           // one line, for logs and the landing page
  int status_code = 0;
  HttpHeaders headers;  // as received, in order
  std::string body;
  double seconds = 0;  // from the start of the exchange to its end, success or not
  // https only, once the handshake succeeded: the earliest notAfter of the certificate chain
  // the server presented, Unix seconds.
  std::optional<double> tls_not_after_seconds;
};

// Performs HTTP(S) exchanges. Start() returns at once; `done` runs exactly once, on the
// io_context's thread, with the answer or the failure (timeout, connect, tls, body_too_large).
// Implementations are thread-safe: one instance serves every collector.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual void Start(boost::asio::io_context& io, ProbeRequest request,
                     std::function<void(ProbeResponse)> done) = 0;
};

}  // namespace outcomes
