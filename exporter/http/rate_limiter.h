// RateLimiter: the token bucket of the web config's rate_limit, with the semantics of Go's
// golang.org/x/time/rate that the exporter-toolkit uses: `burst` tokens at the start, one more
// every `interval` up to `burst`, one taken per request. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace outcomes {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `interval` > 0; a `burst` below 1 allows nothing, as in Go.
  RateLimiter(std::chrono::nanoseconds interval, std::int64_t burst,
              Clock clock = std::chrono::steady_clock::now);

  // Takes a token if there is one; false means the request gets 429.
  bool Allow();

 private:
  const std::chrono::nanoseconds interval_;
  const double burst_;
  const Clock clock_;
  std::mutex mutex_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace outcomes
