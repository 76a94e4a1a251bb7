#include "exporter/http/rate_limiter.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

using namespace std::chrono_literals;

// A clock the test moves by hand.
struct ManualClock {
  std::chrono::steady_clock::time_point now{};
  RateLimiter::Clock Get() {
    return [this] { return now; };
  }
};

int Allowed(RateLimiter& limiter, int attempts) {
  int allowed = 0;
  for (int i = 0; i < attempts; ++i) allowed += limiter.Allow() ? 1 : 0;
  return allowed;
}

TEST(RateLimiterTest, StartsFullAndAllowsTheBurstAtOnce) {
  ManualClock clock;
  RateLimiter limiter(1s, 3, clock.Get());
  EXPECT_EQ(Allowed(limiter, 10), 3);
}

// As Go's rate.NewLimiter(rate.Every(interval), 0), the exporter-toolkit's
// web_config_rate_limiter_one_second.yaml: every request is refused, however long one waits.
TEST(RateLimiterTest, ABurstOfZeroAllowsNothing) {
  ManualClock clock;
  RateLimiter limiter(1s, 0, clock.Get());
  EXPECT_FALSE(limiter.Allow());
  clock.now += 1h;
  EXPECT_FALSE(limiter.Allow());
}

TEST(RateLimiterTest, GivesOneTokenBackPerInterval) {
  ManualClock clock;
  RateLimiter limiter(1s, 3, clock.Get());
  Allowed(limiter, 3);
  clock.now += 999ms;
  EXPECT_FALSE(limiter.Allow());
  clock.now += 1ms;
  EXPECT_TRUE(limiter.Allow());
  EXPECT_FALSE(limiter.Allow());
}

TEST(RateLimiterTest, NeverHoldsMoreThanTheBurst) {
  ManualClock clock;
  RateLimiter limiter(1s, 2, clock.Get());
  clock.now += 1h;
  EXPECT_EQ(Allowed(limiter, 10), 2);
}

}  // namespace
}  // namespace outcomes
