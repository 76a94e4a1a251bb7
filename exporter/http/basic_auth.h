// BasicAuth: checks "Authorization: Basic ..." headers against bcrypt hashes (libcrypt's
// crypt_r handles $2a$/$2b$/$2y$). bcrypt is slow by design, so credentials that verified once
// are remembered by a SHA-256 digest, as the exporter-toolkit does. Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace outcomes {

class BasicAuth {
 public:
  explicit BasicAuth(std::vector<std::pair<std::string, std::string>> users);

  bool enabled() const { return !users_.empty(); }
  // True when the header names a configured user with the right password.
  bool Allows(const char* authorization_header);

 private:
  std::vector<std::pair<std::string, std::string>> users_;  // user, bcrypt hash
  std::mutex mutex_;
  std::set<std::string> verified_;  // digests of user, password and hash that matched
};

// Decodes standard base64; nullopt-like empty result with ok=false on bad input.
bool DecodeBase64(const std::string& text, std::string& out);

}  // namespace outcomes
