// The --web.config.file, in the Prometheus exporter-toolkit format, and its loader. Plain
// values (not shared); only a WebConfig returned by LoadWebConfigFile is valid.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "exporter/core/status.h"

namespace outcomes {

// The --web.config.file, in the Prometheus exporter-toolkit format: TLS and basic auth for
// every HTTP path but /-/healthy.
struct WebConfig {
  // tls_server_config: serve HTTPS when cert_file is set.
  std::string cert_file;
  std::string key_file;
  // CA that signs client certificates; needed by the client_auth_types that verify them.
  std::string client_ca_file;
  // As in Go's crypto/tls: NoClientCert (default), RequestClientCert, RequireAnyClientCert,
  // VerifyClientCertIfGiven, RequireAndVerifyClientCert.
  std::string client_auth_type = "NoClientCert";
  // TLS12 or TLS13; min defaults to TLS12, max to TLS13.
  std::string min_version = "TLS12";
  std::string max_version = "TLS13";
  // basic_auth_users: user -> bcrypt hash ($2a$, $2b$ or $2y$). Default: no authentication.
  std::vector<std::pair<std::string, std::string>> basic_auth_users;

  bool tls() const { return !cert_file.empty(); }
  bool operator==(const WebConfig&) const = default;
};

// Reads and validates a web config file; the error lists every problem as for LoadConfigText.
Result<WebConfig> LoadWebConfigFile(const std::string& path);

}  // namespace outcomes
