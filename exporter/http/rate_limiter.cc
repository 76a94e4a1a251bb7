#include "exporter/http/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace outcomes {

RateLimiter::RateLimiter(std::chrono::nanoseconds interval, std::int64_t burst, Clock clock)
    : interval_(interval),
      burst_(static_cast<double>(burst)),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_()) {}

bool RateLimiter::Allow() {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto now = clock_();
  if (now > last_) {
    const double refilled =
        std::chrono::duration<double>(now - last_) / std::chrono::duration<double>(interval_);
    tokens_ = std::min(burst_, tokens_ + refilled);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace outcomes
