// FakeClock: a Clock that moves only when the test says so, both readings together. Starts at
// an arbitrary steady time and at 2025-12-01T00:00:00Z on the wall. Thread-safe.
#pragma once

#include <atomic>

#include "exporter/core/clock.h"
#include "exporter/core/duration.h"

namespace outcomes::testing_support {

class FakeClock : public Clock {
 public:
  static constexpr std::chrono::seconds kStartWall{1764547200};

  std::chrono::steady_clock::time_point SteadyNow() const override {
    // Starts past zero, so that a default-constructed time_point is always in the past.
    return std::chrono::steady_clock::time_point(std::chrono::hours(1000) + advanced());
  }
  std::chrono::system_clock::time_point SystemNow() const override {
    return std::chrono::system_clock::time_point(kStartWall) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(advanced());
  }
  void Advance(Duration by) { advanced_ns_ += std::chrono::nanoseconds(by).count(); }

 private:
  std::chrono::nanoseconds advanced() const {
    return std::chrono::nanoseconds(advanced_ns_.load());
  }
  std::atomic<std::int64_t> advanced_ns_{0};
};

}  // namespace outcomes::testing_support
