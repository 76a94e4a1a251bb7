// What endpoint probes and registry queries share: the TLS context built from config, and the
// base request (URL, headers, bearer token, deadline, TLS) of an HttpClientConfig. Pure
// functions; the TLS context is immutable once built and shared by the client's requests.
#pragma once

#include <memory>

#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/probe/http_probe.h"

namespace outcomes {

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
