#include "exporter/http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cstring>
#include <iterator>
#include <memory>
#include <string_view>

namespace outcomes {
namespace {

// Each field is preceded by its length, so that no two (user, password, hash) triples share an
// input, whatever bytes they hold.
std::string Digest(const std::string& user, const std::string& password, const std::string& hash) {
  std::string input;
  for (const std::string* field : {&user, &password, &hash}) {
    input += std::to_string(field->size()) + ':' + *field;
  }
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

// The cost of a "$2b$12$..." hash; validated hashes always have two digits there.
int BcryptCost(const std::string& hash) {
  return hash.size() > 6 && std::isdigit(static_cast<unsigned char>(hash[4])) != 0 &&
                 std::isdigit(static_cast<unsigned char>(hash[5])) != 0
             ? (hash[4] - '0') * 10 + (hash[5] - '0')
             : 0;
}

std::string HighestCostHash(const std::vector<std::pair<std::string, std::string>>& users) {
  std::string highest;
  for (const auto& [user, hash] : users) {
    if (highest.empty() || BcryptCost(hash) > BcryptCost(highest)) highest = hash;
  }
  return highest;
}

constexpr std::size_t kMaxVerified = 1024;

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
    : users_(std::move(users)), unknown_user_hash_(HighestCostHash(users_)) {}

BasicAuth::Precheck BasicAuth::Check(const char* authorization_header,
                                     Credentials& credentials) const {
  if (authorization_header == nullptr) return Precheck::kRefused;
  const std::string header = authorization_header;
  constexpr std::string_view kScheme = "basic ";
  // The scheme name is case-insensitive (RFC 7617).
  if (header.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char want, char got) {
        return want == std::tolower(static_cast<unsigned char>(got));
      })) {
    return Precheck::kRefused;
  }
  std::string decoded;
  if (!DecodeBase64(header.substr(kScheme.size()), decoded)) return Precheck::kRefused;
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) return Precheck::kRefused;
  credentials.user = decoded.substr(0, colon);
  credentials.password = decoded.substr(colon + 1);
  // crypt_r reads the password up to its first NUL: "right\0junk" would pass for "right".
  if (credentials.password.find('\0') != std::string::npos) return Precheck::kRefused;
  const auto user = std::find_if(users_.begin(), users_.end(), [&](const auto& entry) {
    return entry.first == credentials.user;
  });
  credentials.known_user = user != users_.end();
  // An unknown user costs a bcrypt of the highest configured cost, so that response times do
  // not tell which users exist.
  credentials.hash = credentials.known_user ? user->second : unknown_user_hash_;
  if (credentials.known_user) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.contains(Digest(credentials.user, credentials.password, credentials.hash))) {
      return Precheck::kAllowed;
    }
  }
  return Precheck::kNeedsBcrypt;
}

bool BasicAuth::Verify(const Credentials& credentials) {
  const bool matches = BcryptMatches(credentials.password, credentials.hash);
  if (!matches || !credentials.known_user) return false;
  const std::lock_guard<std::mutex> lock(mutex_);
  if (verified_.size() < kMaxVerified) {
    verified_.insert(Digest(credentials.user, credentials.password, credentials.hash));
  }
  return true;
}

bool BasicAuth::Allows(const char* authorization_header) {
  Credentials credentials;
  switch (Check(authorization_header, credentials)) {
    case Precheck::kAllowed: return true;
    case Precheck::kRefused: return false;
    case Precheck::kNeedsBcrypt: return Verify(credentials);
  }
  return false;
}

PasswordCheckLimiter::PasswordCheckLimiter(int burst, Duration refill, std::size_t max_clients)
    : burst_(burst), refill_(refill), max_clients_(max_clients) {
  shared_.tokens = burst_;
}

void PasswordCheckLimiter::Refill(Bucket& bucket, Clock::time_point now) const {
  if (now > bucket.updated && refill_.count() > 0) {
    const double earned = std::chrono::duration<double>(now - bucket.updated) / refill_;
    bucket.tokens = std::min(burst_, bucket.tokens + earned);
  }
  bucket.updated = std::max(bucket.updated, now);
}

PasswordCheckLimiter::Bucket& PasswordCheckLimiter::BucketOf(const std::string& client,
                                                             Clock::time_point now) {
  if (const auto found = buckets_.find(client); found != buckets_.end()) return found->second;
  if (buckets_.size() >= max_clients_) {
    // A full bucket says nothing that a new one would not: forget those.
    for (auto entry = buckets_.begin(); entry != buckets_.end();) {
      Refill(entry->second, now);
      entry = entry->second.tokens >= burst_ ? buckets_.erase(entry) : std::next(entry);
    }
  }
  if (buckets_.size() >= max_clients_) return shared_;
  return buckets_.emplace(client, Bucket{burst_, now}).first->second;
}

bool PasswordCheckLimiter::TryTake(const std::string& client, Clock::time_point now) {
  const std::lock_guard<std::mutex> lock(mutex_);
  Bucket& bucket = BucketOf(client, now);
  Refill(bucket, now);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::string ClientKey(const std::string& address) {
  boost::system::error_code error;
  const boost::asio::ip::address parsed = boost::asio::ip::make_address(address, error);
  if (error || !parsed.is_v6()) return address;
  boost::asio::ip::address_v6 v6 = parsed.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  boost::asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

PasswordCheckPool::PasswordCheckPool(int threads, std::size_t max_pending)
    : max_pending_(max_pending) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

PasswordCheckPool::~PasswordCheckPool() { Stop(); }

bool PasswordCheckPool::TrySubmit(std::function<void()> job) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() + running_ >= max_pending_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void PasswordCheckPool::Stop() {
  std::deque<std::function<void()>> discarded;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    discarded.swap(queue_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void PasswordCheckPool::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    job();
    job = nullptr;  // what the job holds goes before the slot is given back
    lock.lock();
    --running_;
  }
}

}  // namespace outcomes
