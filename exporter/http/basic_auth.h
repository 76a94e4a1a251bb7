// Basic auth against bcrypt hashes (libcrypt's crypt_r handles $2a$/$2b$/$2y$), and what keeps
// its cost from being turned against the server: bcrypt is slow by design (about 250 ms at cost
// 12), so credentials that verified once are remembered, checks run on a small pool of their
// own threads, and each client address may start only so many of them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exporter/core/duration.h"

namespace outcomes {

// Checks "Authorization: Basic ..." headers. Credentials that verified once are remembered by a
// SHA-256 digest (as the exporter-toolkit does), for up to 1024 of them. Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::vector<std::pair<std::string, std::string>> users);

  bool enabled() const { return !users_.empty(); }

  // A header's credentials, ready for the slow check.
  struct Credentials {
    std::string user;
    std::string password;
    std::string hash;  // the user's, or for an unknown user one of the highest configured cost
    bool known_user = false;
  };
  enum class Precheck { kAllowed, kRefused, kNeedsBcrypt };
  // Fast, without bcrypt: kAllowed for credentials that verified before, kRefused for a missing
  // or malformed header, otherwise kNeedsBcrypt with `credentials` filled in.
  Precheck Check(const char* authorization_header, Credentials& credentials) const;
  // Runs bcrypt (slow: keep it off the I/O threads) and remembers a success.
  bool Verify(const Credentials& credentials);

  // Both steps on the calling thread: true when the header names a configured user with the
  // right password.
  bool Allows(const char* authorization_header);

 private:
  std::vector<std::pair<std::string, std::string>> users_;  // user, bcrypt hash
  std::string unknown_user_hash_;  // the hash of the highest cost among users_
  mutable std::mutex mutex_;
  std::set<std::string> verified_;  // digests of user, password and hash that matched
};

// Token buckets, one per client address, for the bcrypt checks a client may start: `burst` at
// once, then one more each `refill`. Addresses beyond `max_clients` share one bucket, so the
// table stays bounded whoever connects. Thread-safe.
class PasswordCheckLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  PasswordCheckLimiter(int burst, Duration refill, std::size_t max_clients);

  // Takes a token from `client`'s bucket; false when it is empty.
  bool TryTake(const std::string& client, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  void Refill(Bucket& bucket, Clock::time_point now) const;
  Bucket& BucketOf(const std::string& client, Clock::time_point now);

  const double burst_;
  const Duration refill_;
  const std::size_t max_clients_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Bucket shared_;  // for the addresses that do not fit in buckets_
};

// The bucket a client address falls in: an IPv4 address, or an IPv6 address's /64, which a
// single host usually controls whole. Anything else is its own key.
std::string ClientKey(const std::string& address);

// Runs jobs (bcrypt checks) on `threads` threads of its own, at most `max_pending` running or
// waiting at a time. Stop() or the destructor discards waiting jobs and joins. Thread-safe.
class PasswordCheckPool {
 public:
  PasswordCheckPool(int threads, std::size_t max_pending);
  ~PasswordCheckPool();
  PasswordCheckPool(const PasswordCheckPool&) = delete;
  PasswordCheckPool& operator=(const PasswordCheckPool&) = delete;

  // False, and `job` is not run, when max_pending jobs are running or waiting already.
  bool TrySubmit(std::function<void()> job);
  void Stop();

 private:
  void Work();

  const std::size_t max_pending_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Decodes standard base64; false on bad input.
bool DecodeBase64(const std::string& text, std::string& out);

}  // namespace outcomes
