#include "tools/generator/live_traffic.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "tools/generator/simulation.h"
#include "tools/generator/store_writer.h"

namespace outcomes::generator {
namespace {

constexpr double kTick = 0.25;  // seconds: a few small transactions per second
constexpr std::array<double, 3> kLiveMix = {0.0, 0.15, 0.85};

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class LiveTraffic {
 public:
  LiveTraffic(const Options& options, const volatile std::sig_atomic_t& stop)
      : options_(options), stop_(stop), store_(options.dsn), sim_(options.seed, kLiveTiming) {}

  int Run();

 private:
  Micros Now() const { return WallMicros() + offset_; }
  void Start();
  void Tick();
  void CreateRecommendations(Micros now);
  void WriteBatch();
  void Recover(const pqxx::failure& error);
  void PrintSummary(double seconds) const;

  const Options& options_;
  const volatile std::sig_atomic_t& stop_;
  StoreWriter store_;
  Simulator sim_;
  Micros offset_ = 0;
  Batch batch_;
  Totals totals_;
  double carry_ = 0.0;
  Micros last_ = 0;       // recommendations exist up to here
  Micros accounted_ = 0;  // `carry_` accounts for the time up to here
  bool degrade_announced_ = false;
  double backoff_ = 0.5;
  // The first rows of `batch_` whose COMMIT was in doubt (connection lost while committing).
  BatchSizes doubt_;
};

int LiveTraffic::Run() {
  Start();
  const double mono_start = MonotonicSeconds();
  const std::optional<double> duration =
      options_.duration ? std::optional<double>(ToSeconds(*options_.duration)) : std::nullopt;
  double next_tick = mono_start;
  while (stop_ == 0) {
    const double mono = MonotonicSeconds();
    if (duration && mono - mono_start >= *duration) break;
    if (mono < next_tick) {
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.05, next_tick - mono)));
      continue;
    }
    next_tick = std::max(next_tick + kTick, mono);
    try {
      Tick();
      backoff_ = 0.5;
    } catch (const pqxx::failure& e) {
      Recover(e);
    }
  }
  PrintSummary(MonotonicSeconds() - mono_start);
  return 0;
}

void LiveTraffic::Start() {
  store_.CheckSchema();
  offset_ = store_.ClockOffset();
  int tests_inserted = 0;
  sim_.tests.push_back(store_.EnsureTest(kRunningTest, Now(), std::nullopt, tests_inserted));
  last_ = accounted_ = Now();
  const double degrade_after = options_.degrade_after ? ToSeconds(*options_.degrade_after) : 0.0;
  if (!options_.degrade_version.empty()) {
    sim_.degradation.version = options_.degrade_version == kVersions[kV110].name ? kV110 : kV120;
    sim_.degradation.from = last_ + ToMicros(degrade_after);
    sim_.degradation.return_rate = options_.degrade_return_rate;
  }
  std::cout << "live: ~" << options_.rate << " recommendations/s"
            << (options_.duration ? " for " + FormatSeconds(ToSeconds(*options_.duration))
                                  : std::string(" until stopped"))
            << " (v1.2.0 85%, v1.1.0 15%; half of the customers in " << sim_.tests[0].id << ")";
  if (sim_.degradation.version >= 0) {
    std::cout << "; " << options_.degrade_version << " purchases return at "
              << options_.degrade_return_rate * 100 << "% after " << FormatSeconds(degrade_after);
  }
  std::cout << std::endl;
}

void LiveTraffic::Tick() {
  const Micros now = Now();
  CreateRecommendations(now);
  sim_.Drain(now, batch_);
  if (!degrade_announced_ && sim_.degradation.version >= 0 && now >= sim_.degradation.from) {
    degrade_announced_ = true;
    std::cout << "live: degradation started: " << options_.degrade_version
              << " purchases now return at " << options_.degrade_return_rate * 100 << "%"
              << std::endl;
  }
  if (batch_.rows() > 0) WriteBatch();
}

// New recommendations since the last tick, spread over the interval. After an outage at
// most 10 seconds worth are made up, with creation times during the outage.
void LiveTraffic::CreateRecommendations(Micros now) {
  carry_ = std::min(carry_ + options_.rate * static_cast<double>(now - accounted_) / 1e6,
                    options_.rate * 10 + 1);
  accounted_ = now;
  const auto n = static_cast<std::int64_t>(carry_);
  const auto ids = store_.ReserveIds(n);
  carry_ -= static_cast<double>(n);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const Micros at =
        last_ + static_cast<Micros>((static_cast<double>(i) + 0.5) / static_cast<double>(n) *
                                    static_cast<double>(now - last_));
    sim_.Create(ids[i], at, kLiveMix, 0, batch_);
  }
  last_ = now;
}

void LiveTraffic::WriteBatch() {
  try {
    store_.Write(batch_, sim_.tests);
  } catch (const pqxx::unique_violation&) {
    if (doubt_.recs == 0) throw;
    // The commit that was in doubt went through after all: skip what it wrote.
    totals_.Add(TakeFront(batch_, doubt_));
    doubt_ = {};
    store_.Write(batch_, sim_.tests);
  }
  totals_.Add(batch_);
  batch_.clear();
  doubt_ = {};
}

// in_doubt_error: the connection broke during COMMIT. The batch is kept: if the commit went
// through, the retry meets its recommendations' ids and skips that part.
void LiveTraffic::Recover(const pqxx::failure& error) {
  const bool in_doubt = dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr;
  if (!in_doubt && dynamic_cast<const pqxx::broken_connection*>(&error) == nullptr) throw;
  if (in_doubt && doubt_.recs == 0) {
    doubt_ = BatchSizes{batch_.recs.size(), batch_.events.size(), batch_.feedback.size()};
  }
  std::cerr << "outcomes_generator: connection lost (" << CleanMessage(error.what(), options_.dsn)
            << "); retrying in " << FormatSeconds(backoff_) << std::endl;
  const double until = MonotonicSeconds() + backoff_;
  while (stop_ == 0 && MonotonicSeconds() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  backoff_ = std::min(backoff_ * 2, 10.0);
  try {
    store_.Connect();
    offset_ = store_.ClockOffset();
    std::cerr << "outcomes_generator: reconnected" << std::endl;
  } catch (const pqxx::broken_connection&) {
    // next round
  }
}

void LiveTraffic::PrintSummary(double seconds) const {
  const double rate = static_cast<double>(std::llround(static_cast<double>(totals_.recs) /
                                                       std::max(seconds, 1e-6) * 10)) /
                      10;
  std::cout << "live: inserted " << TotalsLine(totals_)
            << " (PURCHASED=" << totals_.by_status[kPurchased]
            << " RETURNED=" << totals_.by_status[kReturned] << ") in " << FormatSeconds(seconds)
            << " (" << rate << " recommendations/s); " << sim_.scheduled() + batch_.rows()
            << " scheduled steps not written" << std::endl;
}

}  // namespace

int RunLive(const Options& options, const volatile std::sig_atomic_t& stop) {
  LiveTraffic live(options, stop);
  return live.Run();
}

std::string FormatSeconds(double seconds) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.2fs", seconds);
  return buf.data();
}

}  // namespace outcomes::generator
