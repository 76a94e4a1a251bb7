// Scheduler: runs each collector on its own interval on timers (Boost.Asio's, or a test's fake
// ones). A cycle never blocks the io_context's thread (see Collector: blocking collectors run
// on their own worker thread), so a slow collector never delays another one or a scrape.
// A cycle never overlaps the previous one of the same collector; a cycle past its timeout is
// cancelled and recorded as failed. When a cycle ends, its families are serialized on the
// cycle's own thread, so that a scrape only takes pointers to the prepared bytes and never waits
// on collection. Thread-safe: Apply/Stop run on any thread; States(), Prepared() and Families()
// are called by HTTP threads.
#pragma once

#include <prometheus/metric_family.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/collectors/collector.h"
#include "exporter/core/clock.h"
#include "exporter/core/collector_state.h"
#include "exporter/core/log.h"
#include "exporter/metrics/prepared.h"
#include "exporter/scheduling/timer.h"

namespace outcomes {

class Scheduler {
 public:
  // Intervals, timeouts and the exported times are read from `clock` and waited for on
  // `timers` (both outlive the scheduler); tests pass a fake clock and timers.
  Scheduler(boost::asio::io_context& io, Logger& log, const Clock& clock = RealClock(),
            const Timers& timers = AsioTimers());
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Makes `collectors` the running set. A collector whose name and configuration are unchanged
  // keeps running with its state; the others stop, and new ones run at once.
  void Apply(const std::vector<std::shared_ptr<Collector>>& collectors);

  // Stops every collector: cancels timers, asks running cycles to cancel, and waits up to
  // `grace` of real time (it bounds the process's exit, whatever the clock) for the cycles that
  // run on collectors' own threads.
  // Returns false if some cycle did not finish in time.
  bool Stop(Duration grace);

  std::vector<CollectorState> States() const;
  // The serialized families of every collector's last cycle, in collector order; collectors
  // that have not finished a cycle yet are left out. Copies only pointers.
  std::vector<PreparedPart> Prepared() const;
  // The families of every collector's last cycle, in collector order. A deep copy, for tests
  // and tools; /metrics reads Prepared().
  std::vector<prometheus::MetricFamily> Families() const;

 private:
  class Slot;

  boost::asio::io_context& io_;
  Logger& log_;
  const Clock& clock_;
  const Timers& timers_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Slot>> slots_;
  std::vector<std::shared_ptr<Slot>> retired_;  // stopped, threads not yet joined
};

// Runs `io` until it is stopped or out of work. An exception that escapes a handler (a bug: every
// module returns errors as values) is logged in one line and the loop goes on, so one broken
// cycle never ends the process; the scheduler records that cycle as failed.
void RunEventLoop(boost::asio::io_context& io, Logger& log);

}  // namespace outcomes
