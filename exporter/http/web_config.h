// The --web.config.file, in the Prometheus exporter-toolkit format (docs/CONFIGURATION.md), and
// its loader. Plain values (not shared); only a WebConfig returned by LoadWebConfigFile is
// valid, and then its TLS section is either absent or complete.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/core/status.h"

namespace outcomes {

// `rate_limit`: one token bucket for the whole server, as the exporter-toolkit's; requests
// beyond it get 429.
struct RateLimitConfig {
  // Time for one token to come back; 0 or less disables the limiter. Default: 0.
  std::chrono::nanoseconds interval{0};
  // Tokens the bucket holds (requests allowed at once); below 1 with an interval, every
  // request gets 429, as in Go. Default: 0.
  std::int64_t burst = 0;

  bool enabled() const { return interval.count() > 0; }
  bool operator==(const RateLimitConfig&) const = default;
};

// The whole file: TLS, HTTP headers, basic auth and rate limiting for every HTTP path but
// /-/healthy (which answers every orchestrator probe, in the clear, unlimited).
struct WebConfig {
  // --- tls_server_config: HTTPS as soon as any certificate, key, CA or client_auth_type is
  // given; then a certificate and a key are required.
  // The certificate chain and key, inline (PEM) or as files; where both forms are given the
  // file wins, as in the exporter-toolkit (the loader clears the inline one).
  std::string cert;
  std::string key;  // a secret: never logged
  std::string cert_file;
  std::string key_file;
  // CA(s) that sign client certificates, inline (PEM) or as a file; without them the
  // client_auth_types that verify use the system's trust store, as Go does.
  std::string client_ca;
  std::string client_ca_file;
  // As in Go's crypto/tls: NoClientCert (default), RequestClientCert, RequireAnyClientCert
  // (older name: RequireClientCert), VerifyClientCertIfGiven, RequireAndVerifyClientCert.
  std::string client_auth_type = "NoClientCert";
  // The client certificate must carry one of these SANs (DNS, IP, email or URI), exactly.
  // Needs RequireAnyClientCert or RequireAndVerifyClientCert; an empty list refuses every
  // client. Default: none (not checked).
  std::optional<std::vector<std::string>> client_allowed_sans;
  // Go names of the TLS 1.2 cipher suites, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; TLS 1.3
  // suite names are accepted and, as in Go, not configurable (a list of them alone leaves TLS
  // 1.2 with no suite). Default: Go's default list.
  std::vector<std::string> cipher_suites;
  // The server's order of cipher_suites (and curves) wins over the client's. Default: true.
  bool prefer_server_cipher_suites = true;
  // X25519, CurveP256, CurveP384, CurveP521 (and Go's hybrid X25519MLKEM768,
  // SecP256r1MLKEM768, SecP384r1MLKEM1024, used where OpenSSL has them), in preference order.
  // Default: the first four, so.
  std::vector<std::string> curve_preferences;
  // TLS10, TLS11, TLS12 or TLS13. Default: TLS12 to TLS13.
  std::string min_version = "TLS12";
  std::string max_version = "TLS13";

  // --- http_server_config
  // Accepted for compatibility; HTTP/2 is never served (ALPN offers http/1.1 only).
  // Default: true.
  bool http2 = true;
  // Extra response headers, from the exporter-toolkit's fixed list (Strict-Transport-Security,
  // X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy); an
  // empty value sends nothing. In file order. Default: none.
  std::vector<std::pair<std::string, std::string>> headers;

  // --- basic_auth_users: user -> bcrypt hash ($2a$, $2b$ or $2y$). Default: no
  // authentication.
  std::vector<std::pair<std::string, std::string>> basic_auth_users;

  // --- rate_limit
  RateLimitConfig rate_limit;

  bool tls() const { return !cert_file.empty() || !cert.empty(); }
  bool operator==(const WebConfig&) const = default;
};

// Reads and validates a web config file; the error lists every problem, one per line, as
// "path:line:column: message". Relative file paths are taken from the file's folder.
Result<WebConfig> LoadWebConfigFile(const std::string& path);

}  // namespace outcomes
