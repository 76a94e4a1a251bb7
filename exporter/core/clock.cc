#include "exporter/core/clock.h"

namespace outcomes {
namespace {

class MachineClock : public Clock {
 public:
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point SystemNow() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace

const Clock& RealClock() {
  static const MachineClock kClock;
  return kClock;
}

}  // namespace outcomes
