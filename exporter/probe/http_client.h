// What endpoint probes and registry queries share: their dependencies (transport, clocks, log),
// the TLS context built from config, and the base request (URL, headers, bearer token,
// deadline, TLS) of an HttpClientConfig. Pure functions; the TLS context is immutable once
// built and shared by the client's requests.
#pragma once

#include <memory>

#include "exporter/config/config.h"
#include "exporter/core/clock.h"
#include "exporter/core/log.h"
#include "exporter/probe/http_probe.h"

namespace outcomes {

// What the HTTP collectors (endpoints, registries) are given; the seams unit tests replace.
struct HttpCollectorDeps {
  Logger& log;
  // Performs the requests. Default: the Beast/OpenSSL client.
  std::shared_ptr<HttpTransport> transport = BeastHttpTransport();
  // Deadlines across several requests. Default: the machine's steady clock.
  SteadyClock now = SteadyOf(RealClock());
  // The timestamps exported (last success). Default: the machine's wall clock.
  SystemClock wall_now = SystemOf(RealClock());
};

struct HttpClient {
  ParsedUrl url;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null for http:// URLs
};

// Parses the URL and, for https, builds the TLS context; `what` prefixes errors, e.g.
// "endpoint reco-api". Warns once when certificate checks are disabled.
Result<HttpClient> MakeHttpClient(const HttpClientConfig& config, const std::string& what,
                                  Logger& log);

// The request for `client`, with the bearer token read now so a rotated one is used at once.
ProbeRequest MakeRequest(const HttpClientConfig& config, const HttpClient& client);

}  // namespace outcomes
