// Measures what one A/B collector cycle costs on a generated store: the full-window statement
// (what every cycle ran before the aggregates were incremental, and what the first count
// runs), the first cycle, and the incremental cycles, one per analytics.ab_tests.interval,
// after a fixed number of new recommendations of returning customers of a running test with
// their events and feedback, and a rolled-back write that leaves ids for the reconciliation
// sweep (store.late_commit_window is 1m here, so they reach it within the run): wall time and
// database time (pg_stat_statements, when the store has it) per cycle and per
// store.reconcile_interval, the process's RSS and the customers held.
// With --state-memory N it only measures the memory of N customers held in the state.
// Usage: ab_cycle_bench DSN [NEW_ROWS_PER_CYCLE] [CYCLES] [MAX_TRACKED_CUSTOMERS]
//        ab_cycle_bench --state-memory N
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <vector>

#include "exporter/collectors/ab_aggregates.h"
#include "exporter/collectors/ab_tests.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// The process's resident set in bytes (Linux).
std::int64_t RssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return static_cast<std::int64_t>(std::stoll(line.substr(6))) * 1024;
  }
  return 0;
}

// Milliseconds of statement execution in this database so far, or -1 without
// pg_stat_statements; the bench's own statements on the view are left out.
double DatabaseMs(pqxx::connection& connection) {
  try {
    pqxx::nontransaction txn(connection);
    return txn
        .exec(
            "SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT LIKE '%pg_stat_statements%'")[0][0]
        .as<double>();
  } catch (const std::exception&) {
    return -1;
  }
}

// The bytes one customer of the state takes: RSS before and after holding `count` customers
// named like the generated ones, in two arms.
int StateMemory(std::int64_t count) {
  const std::int64_t before = RssBytes();
  outcomes::AbCustomerState state(count);
  for (std::int64_t i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "cust-%08lld", static_cast<long long>(i));
    state.Put({"reco-ranker-2026q4", i % 2 == 0 ? "control" : "treatment", name},
              outcomes::AbCustomer{i * 100, i, i % 3 == 0});
  }
  const std::int64_t after = RssBytes();
  std::cout << "customers=" << state.size() << " rss_growth_bytes=" << (after - before)
            << " bytes_per_customer="
            << static_cast<double>(after - before) / static_cast<double>(count) << "\n";
  return 0;
}

// New recommendations for customers of the pool, half of them purchased, some rated.
void InsertRows(pqxx::connection& connection, const std::string& test,
                const std::vector<std::string>& customers, const std::vector<std::string>& variants,
                int count, std::minstd_rand& random) {
  std::string customer_list = "{";
  std::string variant_list = "{";
  for (int i = 0; i < count; ++i) {
    const std::size_t pick = random() % customers.size();
    customer_list += (i > 0 ? ",\"" : "\"") + customers[pick] + "\"";
    variant_list += (i > 0 ? ",\"" : "\"") + variants[pick] + "\"";
  }
  pqxx::work txn(connection);
  txn.exec_params(
      "WITH r AS (INSERT INTO recommendations (customer_id, product_id, model_version, "
      "ab_test_id, variant, score, price) SELECT c, 'p1', 'v1.2.0', $1, v, random(), 10 "
      "FROM unnest($2::text[], $3::text[]) AS u(c, v) RETURNING id), "
      "e AS (INSERT INTO outcome_events (recommendation_id, status, revenue) SELECT id, "
      "'PURCHASED', 10 FROM r WHERE id % 2 = 0 RETURNING 1) "
      "INSERT INTO feedback (recommendation_id, feedback_type, score) SELECT id, 'SATISFACTION', "
      "4 FROM r WHERE id % 3 = 0",
      test, customer_list + "}", variant_list + "}");
  txn.commit();
}

// A write that rolls back: its ids stay missing, for the sweep to re-check.
void RollBackRows(pqxx::connection& connection, const std::string& test) {
  pqxx::work txn(connection);
  txn.exec_params(
      "INSERT INTO recommendations (customer_id, product_id, model_version, ab_test_id, "
      "variant, score, price) SELECT 'rolled-back', 'p1', 'v1.2.0', $1, 'control', 0.5, 10 "
      "FROM generate_series(1, 3)",
      test);
  txn.abort();
}

// A RUNNING test of the store and up to 20000 of its customers with their variant, whose new
// rows the cycles measured add; `events` sizes the store in the report.
struct RunningTest {
  std::string test;
  std::vector<std::string> customers;
  std::vector<std::string> variants;
  std::int64_t events = 0;
};

std::optional<RunningTest> PickRunningTest(pqxx::connection& connection) {
  pqxx::nontransaction txn(connection);
  RunningTest picked;
  picked.events = txn.exec("SELECT count(*) FROM outcome_events")[0][0].as<std::int64_t>();
  const auto running = txn.exec("SELECT test_id FROM ab_tests WHERE status = 'RUNNING' LIMIT 1");
  if (running.empty()) return std::nullopt;
  picked.test = running[0][0].c_str();
  for (const auto& row : txn.exec_params(
           "SELECT customer_id, min(variant) FROM recommendations WHERE ab_test_id = $1 "
           "GROUP BY 1 ORDER BY random() LIMIT 20000",
           picked.test)) {
    picked.customers.emplace_back(row[0].c_str());
    picked.variants.emplace_back(row[1].c_str());
  }
  return picked;
}

// Three runs of the full-window statement the incremental cycles replace, in seconds.
std::vector<double> TimeFullWindow(pqxx::connection& connection) {
  std::vector<double> seconds;
  for (int i = 0; i < 3; ++i) {
    pqxx::work txn(connection);
    const auto started = Clock::now();
    txn.exec_params(outcomes::ab_sql::FullWindow(true), "604800 seconds");
    seconds.push_back(Seconds(started));
  }
  return seconds;
}

// The database time of the last `per_interval` cycles (one reconcile interval).
double LastCyclesMs(const std::vector<double>& cycle_ms, std::size_t per_interval) {
  double sum = 0;
  for (std::size_t i = cycle_ms.size() - std::min(per_interval, cycle_ms.size());
       i < cycle_ms.size(); ++i) {
    sum += cycle_ms[i];
  }
  return sum;
}

// The store as the benchmark reads it: long statements allowed, gaps released to the sweep
// after a minute so that the rolled-back writes reach it within the run.
outcomes::StoreConfig BenchStoreConfig(const std::string& dsn) {
  outcomes::StoreConfig store;
  store.dsn = dsn;
  store.statement_timeout = std::chrono::minutes(10);
  store.late_commit_window = std::chrono::minutes(1);
  return store;
}

// The benchmark; main() turns an exception (the store going away) into one line.
int Run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ab_cycle_bench DSN [NEW_ROWS_PER_CYCLE] [CYCLES] "
                 "[MAX_TRACKED_CUSTOMERS]\n       ab_cycle_bench --state-memory N\n";
    return 2;
  }
  if (std::string(argv[1]) == "--state-memory") {
    return StateMemory(argc > 2 ? std::stoll(argv[2]) : 1'000'000);
  }
  const std::string dsn = argv[1];
  const int new_rows = argc > 2 ? std::stoi(argv[2]) : 1000;
  const int cycles = argc > 3 ? std::stoi(argv[3]) : 15;
  outcomes::AbTestsConfig config;
  if (argc > 4) config.max_tracked_customers = std::stoll(argv[4]);

  pqxx::connection connection(dsn);
  const std::optional<RunningTest> running = PickRunningTest(connection);
  if (!running) {
    std::cerr << "no RUNNING test in ab_tests\n";
    return 1;
  }
  const std::string& test = running->test;
  const std::int64_t events = running->events;
  const std::vector<double> full_window = TimeFullWindow(connection);

  std::ostringstream quiet;
  outcomes::Logger log(quiet, outcomes::LogLevel::kError, outcomes::LogFormat::kLogfmt);
  Clock::time_point fake_now = Clock::now();
  const outcomes::StoreConfig store = BenchStoreConfig(dsn);
  config.timeout = std::chrono::minutes(10);
  outcomes::AbTestsCollector collector(
      store, config,
      {log,
       [](const outcomes::SessionOptions& options) { return outcomes::MakePgSession(options); },
       [&fake_now] { return fake_now; }});
  double database_ms = DatabaseMs(connection);
  auto started = Clock::now();
  if (!collector.Collect().status.ok()) {
    std::cerr << "first cycle failed\n";
    return 1;
  }
  const double first = Seconds(started);
  const double first_database_ms = DatabaseMs(connection) - database_ms;

  std::minstd_rand random(1);
  std::vector<double> incremental;
  std::vector<double> incremental_database_ms;
  for (int i = 0; i < cycles; ++i) {
    InsertRows(connection, test, running->customers, running->variants, new_rows, random);
    RollBackRows(connection, test);
    fake_now += config.interval;
    database_ms = DatabaseMs(connection);
    started = Clock::now();
    const auto output = collector.Collect();
    incremental.push_back(Seconds(started));
    incremental_database_ms.push_back(DatabaseMs(connection) - database_ms);
    if (!output.status.ok()) {
      std::cerr << output.status.message() << "\n";
      return 1;
    }
  }
  // The cycles of the last store.reconcile_interval.
  const auto per_interval = static_cast<std::size_t>(
      std::max<std::int64_t>(1, store.reconcile_interval / config.interval));
  const double interval_database_ms = LastCyclesMs(incremental_database_ms, per_interval);
  std::cout << "events=" << events << " full_window_statement_median_s=" << Median(full_window)
            << " first_cycle_s=" << first << " incremental_cycle_median_s=" << Median(incremental)
            << " (" << new_rows << " new recommendations of returning customers, " << cycles
            << " cycles)\nfirst_cycle_database_ms=" << first_database_ms
            << " incremental_cycle_database_ms_median=" << Median(incremental_database_ms)
            << " incremental_cycle_database_ms_max="
            << *std::max_element(incremental_database_ms.begin(), incremental_database_ms.end())
            << " database_ms_per_reconcile_interval=" << interval_database_ms << " ("
            << per_interval << " cycles)"
            << " swept_ranges=" << collector.swept_ranges()
            << " max_tracked_customers=" << config.max_tracked_customers
            << " rss_bytes=" << RssBytes() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ab_cycle_bench: " << e.what() << "\n";
    return 1;
  }
}
