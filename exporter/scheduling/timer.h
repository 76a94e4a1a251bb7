// Timer and Timers: the scheduler's seam for waiting. A Timer calls its handler on the
// io_context's thread once its deadline on the clock has come; AsioTimers() gives real
// Boost.Asio timers on the machine's steady clock, and tests give fake timers that fire when a
// fake clock is moved, so that scheduling is tested without sleeps. A Timer is used on the
// io_context's thread only; Timers::Make() may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace outcomes {

class Timer {
 public:
  virtual ~Timer() = default;
  // Calls `fire` on the io_context's thread at `when` (soon, when that is past), unless
  // Cancel() or another At() comes first. As with Asio, a handler already due may still run.
  virtual void At(std::chrono::steady_clock::time_point when, std::function<void()> fire) = 0;
  virtual void Cancel() = 0;
};

class Timers {
 public:
  virtual ~Timers() = default;
  virtual std::unique_ptr<Timer> Make(boost::asio::io_context& io) const = 0;
};

// Boost.Asio steady timers; stateless, lives as long as the program.
const Timers& AsioTimers();

}  // namespace outcomes
