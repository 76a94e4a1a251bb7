// outcomes_generator: fills the reference outcomes store (deploy/sql/schema.sql) with
// realistic recommendations, their append-only outcome events and customer feedback.
//
//   outcomes_generator --dsn DSN history [--days N] [--per-day N] [--seed N]
//   outcomes_generator --dsn DSN live [--rate N] [--duration D] [--seed N]
//                      [--degrade-version V] [--degrade-after D] [--degrade-return-rate R]
//
// Both modes run the same simulation (simulation.h). `history` runs its clock over the past
// N days as fast as the database accepts rows (history.h: COPY, large transactions); `live`
// follows the wall clock with small transactions a few times a second and compressed delays
// (live_traffic.h). store_writer.h is the only part that talks to PostgreSQL.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <pqxx/pqxx>

#include "tools/generator/history.h"
#include "tools/generator/live_traffic.h"
#include "tools/generator/options.h"
#include "tools/generator/store_writer.h"

namespace outcomes::generator {
namespace {

// Set by SIGINT/SIGTERM; a signal handler can only reach a global.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
volatile std::sig_atomic_t g_stop = 0;

extern "C" void OnSignal(int /*signo*/) { g_stop = 1; }

void InstallSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// `history` against the store: registers the two A/B tests, then RunHistory.
int RunHistoryCommand(const Options& o) {
  const double t0 = MonotonicSeconds();
  StoreWriter store(o.dsn);
  store.CheckSchema();
  store.Exec("SET synchronous_commit = off");  // demo data: speed over durability
  HistoryWindow window;
  window.end = WallMicros() + store.ClockOffset();
  window.start = window.end - o.days * kDay;
  window.recommendations = o.days * o.per_day;
  window.seed = o.seed;

  Simulator sim(o.seed, kHistoryTiming);
  int tests_inserted = 0;
  const auto at = [&](double f) {
    return window.start + static_cast<Micros>(f * static_cast<double>(window.end - window.start));
  };
  sim.tests.push_back(
      store.EnsureTest(kEndedTest, at(kEndedTest.from), at(kEndedTest.to), tests_inserted));
  sim.tests.push_back(
      store.EnsureTest(kRunningTest, at(kRunningTest.from), std::nullopt, tests_inserted));
  const HistoryResult result = RunHistory(window, sim, store, g_stop);

  const double secs = MonotonicSeconds() - t0;
  std::cout << "history: " << (result.interrupted ? "interrupted after " : "") << o.days
            << (o.days == 1 ? " day x " : " days x ") << o.per_day << "/day: inserted "
            << TotalsLine(result.totals) << " ab_tests=" << tests_inserted << " in "
            << FormatSeconds(secs) << " ("
            << static_cast<std::int64_t>(static_cast<double>(result.totals.recs) /
                                         std::max(secs, 1e-6))
            << " recommendations/s); " << result.not_due << " later steps not due yet" << std::endl;
  return result.interrupted ? 130 : 0;
}

int Main(int argc, char** argv) {
  // Read before any thread starts.
  const char* env_dsn = std::getenv("OUTCOMES_DSN");  // NOLINT(concurrency-mt-unsafe)
  const Result<Options> options =
      ParseOptions(std::vector<std::string>(argv + 1, argv + argc), env_dsn);
  if (!options.ok()) {
    std::cerr << "outcomes_generator: " << options.error() << std::endl;
    return 2;
  }
  const Options& o = options.value();
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  if (const Status dsn = CheckDsn(o.dsn); !dsn.ok()) {
    std::cerr << "outcomes_generator: " << dsn.message() << std::endl;
    return 2;
  }
  InstallSignalHandlers();
  try {
    return o.mode == "history" ? RunHistoryCommand(o) : RunLive(o, g_stop);
  } catch (const pqxx::broken_connection& e) {
    std::cerr << "outcomes_generator: cannot connect to the store: "
              << CleanMessage(e.what(), o.dsn) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "outcomes_generator: error: " << CleanMessage(e.what(), o.dsn) << std::endl;
  }
  return 1;
}

}  // namespace
}  // namespace outcomes::generator

int main(int argc, char** argv) { return outcomes::generator::Main(argc, argv); }
