// One asynchronous HTTP(S) request with a deadline, on Boost.Beast. StartHttpProbe returns at
// once; the callback runs exactly once on the io_context's thread. Nothing blocks the thread,
// so one thread drives any number of probes. Each probe owns its state (not shared).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
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
// kHttpStatus and kUnexpectedBody are decided by the caller.
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

struct ProbeRequest {
  ParsedUrl url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
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
  std::string body;
  double seconds = 0;
  // https only, once the handshake succeeded: the earliest notAfter of the certificate chain
  // the server presented, Unix seconds.
  std::optional<double> tls_not_after_seconds;
};

void StartHttpProbe(boost::asio::io_context& io, ProbeRequest request,
                    std::function<void(ProbeResponse)> done);

}  // namespace outcomes
