#include "exporter/http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

namespace outcomes {
namespace {

std::string Digest(const std::string& user, const std::string& password, const std::string& hash) {
  const std::string input = user + '\0' + password + '\0' + hash;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // large: keep it off the stack
  const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
  return computed != nullptr && std::strlen(computed) == hash.size() &&
         CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
}

}  // namespace

bool DecodeBase64(const std::string& text, std::string& out) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.clear();
  unsigned buffer = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;  // data after padding
    const std::size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) return false;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return padding <= 2 && (text.size() % 4 == 0);
}

BasicAuth::BasicAuth(std::vector<std::pair<std::string, std::string>> users)
    : users_(std::move(users)) {}

bool BasicAuth::Allows(const char* authorization_header) {
  if (authorization_header == nullptr) return false;
  const std::string header = authorization_header;
  constexpr std::string_view kScheme = "basic ";
  // The scheme name is case-insensitive (RFC 7235).
  if (header.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char want, char got) {
        return want == std::tolower(static_cast<unsigned char>(got));
      })) {
    return false;
  }
  std::string decoded;
  if (!DecodeBase64(header.substr(kScheme.size()), decoded)) return false;
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon);
  const std::string password = decoded.substr(colon + 1);
  for (const auto& [name, hash] : users_) {
    if (name != user) continue;
    const std::string digest = Digest(user, password, hash);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (verified_.contains(digest)) return true;
    }
    if (!BcryptMatches(password, hash)) return false;
    const std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.size() < 1024) verified_.insert(digest);
    return true;
  }
  // An unknown user costs a bcrypt as well, so that response times do not tell which users
  // exist.
  if (!users_.empty()) (void)BcryptMatches(password, users_.front().second);
  return false;
}

}  // namespace outcomes
