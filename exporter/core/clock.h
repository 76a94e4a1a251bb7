// Clock: the seam for time. SteadyNow() measures intervals, deadlines and backoff; SystemNow()
// gives the wall-clock timestamps that are exported. Code that takes a Clock (or the SteadyClock
// and SystemClock functions made from one) can be tested on a fake clock that a test moves by
// hand, without sleeps. RealClock() is stateless and thread-safe.
#pragma once

#include <chrono>
#include <functional>

namespace outcomes {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;
using SystemClock = std::function<std::chrono::system_clock::time_point()>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
  virtual std::chrono::system_clock::time_point SystemNow() const = 0;
};

// The machine's clocks; lives as long as the program.
const Clock& RealClock();

// The clock's readings as functions, for the seams that take one; `clock` must outlive them.
inline SteadyClock SteadyOf(const Clock& clock) {
  return [&clock] { return clock.SteadyNow(); };
}
inline SystemClock SystemOf(const Clock& clock) {
  return [&clock] { return clock.SystemNow(); };
}

}  // namespace outcomes
