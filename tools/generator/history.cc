#include "tools/generator/history.h"

#include <algorithm>
#include <cmath>

namespace outcomes::generator {
namespace {

constexpr std::size_t kFlushRows = 50'000;
constexpr std::int64_t kIdBlock = 20'000;

// Cumulative diurnal weight at the end of each hour of the window (index 0: the start).
std::vector<double> CumulativeWeights(const HistoryWindow& window, std::int64_t hours) {
  std::vector<double> cumulative(static_cast<std::size_t>(hours) + 1, 0.0);
  for (std::int64_t c = 0; c < hours; ++c) {
    const Micros a = window.start + c * kHour;
    const Micros b = std::min(window.end, a + kHour);
    cumulative[static_cast<std::size_t>(c) + 1] =
        cumulative[static_cast<std::size_t>(c)] +
        Diurnal(a + (b - a) / 2) * static_cast<double>(b - a);
  }
  return cumulative;
}

// The A/B test running at fraction f of the window: -1 none, 0 kEndedTest, 1 kRunningTest.
int TestAt(double f) {
  int test = -1;
  if (f >= kEndedTest.from && f < kEndedTest.to) test = 0;
  if (f >= kRunningTest.from) test = 1;
  return test;
}

// Hands out ids from the sink in blocks, so that the sink is asked rarely.
class IdSupply {
 public:
  explicit IdSupply(RowSink& sink) : sink_(sink) {}

  // Makes sure `count` ids are at hand; takes at least `block` when it has to ask.
  void Ensure(std::int64_t count, std::int64_t block) {
    if (ids_.size() - next_ >= static_cast<std::size_t>(count)) return;
    ids_ = sink_.ReserveIds(std::max(count, block));
    next_ = 0;
  }
  std::int64_t Next() { return ids_[next_++]; }

 private:
  RowSink& sink_;
  std::vector<std::int64_t> ids_;
  std::size_t next_ = 0;
};

}  // namespace

double Diurnal(Micros t) {
  const double hour = static_cast<double>((t % kDay + kDay) % kDay) / static_cast<double>(kHour);
  constexpr double kPi = 3.14159265358979323846;
  return 0.35 + 0.65 * (0.5 - 0.5 * std::cos(2 * kPi * (hour - 4.0) / 24.0));
}

std::array<double, 3> VersionMix(double f) {
  const auto ramp = [](double x, double a, double b) {
    return std::clamp((x - a) / (b - a), 0.0, 1.0);
  };
  const double v11 = ramp(f, 0.35, 0.45);
  const double v12 = 0.85 * ramp(f, 0.75, 0.85);
  return {1.0 - v11, v11 * (1.0 - v12), v11 * v12};
}

HistoryResult RunHistory(const HistoryWindow& window, Simulator& sim, RowSink& sink,
                         const volatile std::sig_atomic_t& stop) {
  const Micros length = window.end - window.start;
  const std::int64_t total = window.recommendations;
  const std::int64_t hours = (length + kHour - 1) / kHour;
  const std::vector<double> cumulative = CumulativeWeights(window, hours);
  const double weight = cumulative.back();

  Rng time_rng(window.seed ^ 0x5EEDULL);
  IdSupply ids(sink);
  Batch batch;
  HistoryResult result;
  std::int64_t created = 0;
  std::vector<Micros> times;
  for (std::int64_t c = 0; c < hours && stop == 0; ++c) {
    const Micros a = window.start + c * kHour;
    const Micros b = std::min(window.end, a + kHour);
    const auto upto = static_cast<std::int64_t>(std::llround(
        static_cast<double>(total) * cumulative[static_cast<std::size_t>(c) + 1] / weight));
    const std::int64_t n = std::max<std::int64_t>(0, upto - created);
    ids.Ensure(n, std::min(kIdBlock, total - created));
    times.clear();
    for (std::int64_t i = 0; i < n; ++i) {
      times.push_back(a + static_cast<Micros>(time_rng.Uniform() * static_cast<double>(b - a)));
    }
    std::sort(times.begin(), times.end());
    for (const Micros t : times) {
      const double f = static_cast<double>(t - window.start) / static_cast<double>(length);
      sim.Create(ids.Next(), t, VersionMix(f), TestAt(f), batch);
      // Events scheduled before this recommendation was created go first.
      sim.Drain(t, batch);
    }
    created += n;
    sim.Drain(b, batch);
    if (batch.rows() >= kFlushRows || c + 1 == hours) {
      sink.Write(batch, sim.tests);
      result.totals.Add(batch);
      batch.clear();
    }
  }
  result.not_due = sim.scheduled();
  result.interrupted = stop != 0;
  return result;
}

}  // namespace outcomes::generator
