// Measures what one store cycle costs as the tables grow: the first cycle (the count from
// scratch), the incremental cycle after a fixed number of new rows, and the cycle without new
// rows (the max ids and the sweep's batch of missing-id ranges). Run by bench/run-store-bench
// against a generated store; prints one line per measurement. Usage: store_cycle_bench DSN
// [NEW_ROWS_PER_CYCLE] [CYCLES]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

#include "exporter/collectors/store.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// New recommendations with one event and some feedback each, as live traffic adds them.
void InsertRows(pqxx::connection& connection, int count) {
  pqxx::work txn(connection);
  txn.exec(
      "WITH r AS (INSERT INTO recommendations (customer_id, product_id, model_version, score, "
      "price) SELECT 'bench' || g, 'p' || (g % 100), 'v1.2.0', random(), 10 FROM "
      "generate_series(1, " +
      std::to_string(count) +
      ") g RETURNING id), "
      "e AS (INSERT INTO outcome_events (recommendation_id, status, revenue) SELECT id, "
      "'PURCHASED', 10 FROM r RETURNING 1) "
      "INSERT INTO feedback (recommendation_id, feedback_type, score) SELECT id, 'SATISFACTION', "
      "5 FROM r WHERE id % 3 = 0");
  txn.commit();
}

// The benchmark; main() turns an exception (the store going away) into one line.
int Run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: store_cycle_bench DSN [NEW_ROWS_PER_CYCLE] [CYCLES]\n";
    return 2;
  }
  const std::string dsn = argv[1];
  const int new_rows = argc > 2 ? std::stoi(argv[2]) : 1000;
  const int cycles = argc > 3 ? std::stoi(argv[3]) : 15;

  std::ostringstream quiet;
  outcomes::Logger log(quiet, outcomes::LogLevel::kError, outcomes::LogFormat::kLogfmt);
  Clock::time_point fake_now = Clock::now();
  outcomes::StoreConfig config;
  config.dsn = dsn;
  config.statement_timeout = std::chrono::minutes(10);
  outcomes::StoreCollector collector(config, {log,
                                              [](const outcomes::SessionOptions& options) {
                                                return outcomes::MakePgSession(options);
                                              },
                                              [&fake_now] { return fake_now; }});

  pqxx::connection connection(dsn);
  const auto rows = [&connection](const char* table) {
    pqxx::nontransaction txn(connection);
    return txn.exec(std::string("SELECT count(*) FROM ") + table)[0][0].as<std::int64_t>();
  };
  const std::int64_t events = rows("outcome_events");

  auto started = Clock::now();
  if (!collector.Collect().status.ok()) {
    std::cerr << "first cycle failed\n";
    return 1;
  }
  const double first = std::chrono::duration<double>(Clock::now() - started).count();

  std::vector<double> incremental;
  for (int i = 0; i < cycles; ++i) {
    InsertRows(connection, new_rows);
    started = Clock::now();
    const auto output = collector.Collect();
    incremental.push_back(std::chrono::duration<double>(Clock::now() - started).count());
    if (!output.status.ok()) {
      std::cerr << output.status.message() << "\n";
      return 1;
    }
  }

  std::vector<double> sweep;
  for (int i = 0; i < cycles; ++i) {
    fake_now += config.interval;
    started = Clock::now();
    if (!collector.Collect().status.ok()) return 1;
    sweep.push_back(std::chrono::duration<double>(Clock::now() - started).count());
  }
  double swept_ranges = 0;
  for (const auto& family : collector.Collect().families) {
    if (family.name != "outcomes_store_sweep_ranges") continue;
    for (const auto& metric : family.metric) swept_ranges += metric.gauge.value;
  }

  std::cout << "events=" << events << " recommendations=" << rows("recommendations")
            << " first_cycle_s=" << first << " incremental_cycle_median_s=" << Median(incremental)
            << " (" << new_rows << " new recommendations, " << cycles << " cycles)"
            << " sweep_cycle_median_s=" << Median(sweep) << " (no new rows, " << swept_ranges
            << " missing-id ranges swept per reconcile_interval)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "store_cycle_bench: " << e.what() << "\n";
    return 1;
  }
}
