// `history`: runs the simulation's clock over a past window as fast as the sink accepts
// rows. The window is cut into hours; each hour gets its share of the recommendations by a
// diurnal curve, so the totals are exact. Deterministic for a given seed, window and sink.
// Not thread-safe.
#pragma once

#include <array>
#include <csignal>
#include <cstdint>
#include <vector>

#include "tools/generator/simulation.h"

namespace outcomes::generator {

// Where the rows go: the store (StoreWriter) or, in tests, memory.
class RowSink {
 public:
  virtual ~RowSink() = default;
  // `count` new recommendation ids, ascending.
  virtual std::vector<std::int64_t> ReserveIds(std::int64_t count) = 0;
  // Writes one batch, all or nothing.
  virtual void Write(const Batch& batch, const std::vector<TestInfo>& tests) = 0;
};

struct HistoryWindow {
  Micros start = 0;
  Micros end = 0;                    // now: nothing is written after it
  std::int64_t recommendations = 0;  // in the whole window
  std::uint64_t seed = 1;
};

struct HistoryResult {
  Totals totals;
  std::size_t not_due = 0;  // planned steps after the end of the window
  bool interrupted = false;
};

// Relative traffic by hour of the day (UTC): quiet at night, busy in the afternoon.
double Diurnal(Micros t);

// Traffic shares of v1.0.0, v1.1.0, v1.2.0 at fraction f of the history window:
// v1.1.0 replaces v1.0.0 during 35-45%, v1.2.0 ramps up to 85% during 75-85%.
std::array<double, 3> VersionMix(double f);

// Creates the window's recommendations with `sim` (whose tests are kEndedTest then
// kRunningTest) and writes them and their due steps to `sink`. Stops early once `stop` is set.
HistoryResult RunHistory(const HistoryWindow& window, Simulator& sim, RowSink& sink,
                         const volatile std::sig_atomic_t& stop);

}  // namespace outcomes::generator
