// Exact incremental A/B aggregates: per test and variant the sums the ab_tests collector needs
// (customers, converted customers, recommendations, purchases, returns, revenue and revenue
// squared per customer, SATISFACTION sums), kept exact in integer cents and advanced each cycle
// from the rows past per-table watermarks (the CounterLedger late-id mechanism of the store
// collector). Each customer's conversion and running revenue are held in memory
// (AbCustomerState, capped), so a new row changes the sums without a re-read of its customer's
// history; a customer evicted past the cap is read back by one index lookup. The full-window
// SQL is the first count, the reconciliation every store.reconcile_interval and the oracle of
// the tests (see docs/EXACTNESS.md). Not thread-safe: owned by one collector.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/collectors/ab_customer_state.h"
#include "exporter/collectors/ab_sql.h"
#include "exporter/core/log.h"
#include "exporter/counting/counter_ledger.h"
#include "exporter/counting/incremental.h"
#include "exporter/store/session.h"

namespace outcomes {

// Exact sums need more than 64 bits: revenue squared in cents² of one customer alone may
// exceed 2^63.
__extension__ using ExactSum = __int128;

// One arm (test, variant) summed over its customers; revenue in cents, squares in cents².
struct AbSums {
  std::int64_t customers = 0;
  std::int64_t recommendations = 0;
  std::int64_t converted_customers = 0;
  std::int64_t purchases = 0;
  std::int64_t returns = 0;
  ExactSum revenue_cents = 0;
  ExactSum revenue_squares_cents = 0;  // sum over customers of (revenue in cents)²
  std::int64_t satisfaction_sum = 0;
  std::int64_t satisfaction_count = 0;

  AbSums& operator+=(const AbSums& other);
  bool operator==(const AbSums&) const = default;
};

// A tracked test: its two variants and each arm's sums.
struct AbTestSums {
  std::string variant_a;
  std::string variant_b;
  AbSums a;
  AbSums b;
  bool operator==(const AbTestSums&) const = default;
};

// A test the cycle reads (RUNNING, or ENDED within the retention), as ab_tests lists it.
struct AbTestDefinition {
  std::string test;
  std::string variant_a;
  std::string variant_b;
  std::optional<double> traffic_share_b;  // NULL, or the store has no such column
};

// What one reconciliation corrected, for the log.
struct AbCorrection {
  std::string test;
  std::string variant;
  AbSums counted;
  AbSums store;
};

// What one Advance() did.
struct AbAdvance {
  // The whole window was counted from this snapshot: the first cycle, or a table went back
  // below its watermark (an older backup restored).
  bool counted_from_scratch = false;
  std::vector<AbCorrection> corrections;  // what the reconciliation corrected
  std::int64_t customers_read_back = 0;   // not held in memory, read by index lookup
  std::int64_t customers_evicted = 0;     // past analytics.ab_tests.max_tracked_customers
};

class AbAggregates {
 public:
  // Reads the store through the names of `sql` (store.schema); `max_customers`: how many
  // customers the state holds at most (max_tracked_customers).
  AbAggregates(SchemaSql sql, std::int64_t max_customers);

  bool initialized() const { return initialized_; }
  const std::map<std::string, AbTestSums>& tests() const { return tests_; }
  const AbCustomerState& customers() const { return customers_; }

  // Brings the aggregates up to the snapshot for `tests`: the first full count, else the rows
  // past the watermarks plus a full count of tests new to the list; then, when `reconcile`,
  // the full-window SQL again, whose differences are returned and applied. On error nothing
  // changes.
  Result<AbAdvance> Advance(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                            bool has_split_column, bool reconcile, const std::string& retention,
                            SteadyTime now);

  // Stops re-checking ids missing for longer than `window`; the reconciliation covers them.
  void ExpireGaps(SteadyTime now, Duration window);

 private:
  // Updates of the customer state, applied once every read of a cycle succeeded.
  using CustomerUpdates = std::vector<std::pair<AbCustomerKey, AbCustomer>>;

  Status Initialize(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                    bool has_split_column, const std::string& retention, SteadyTime now);
  // Reads what the rows past the watermarks change (`tops` are the tables' highest ids in this
  // snapshot, none below its watermark) into `ledgers`, `tests` and `updates`; `this` is left
  // as it is.
  Status ReadDelta(SnapshotReader& reader, const std::vector<std::int64_t>& tops, SteadyTime now,
                   std::vector<CounterLedger>& ledgers, std::map<std::string, AbTestSums>& tests,
                   CustomerUpdates& updates, AbAdvance& report) const;
  // Keeps what a cycle read: the tests and ledgers, the customers' new state, and the
  // customers `loaded` of the `rebuilt` tests (`loaded_complete`: all of them).
  void Commit(std::map<std::string, AbTestSums> tests, std::vector<CounterLedger> ledgers,
              const CustomerUpdates& updates, const std::map<std::string, AbTestSums>& rebuilt,
              const CustomerUpdates& loaded, bool loaded_complete);

  SchemaSql sql_;
  std::vector<TableSpec> tables_;  // recommendations, outcome_events, feedback
  bool initialized_ = false;
  // recommendations, outcome_events, feedback: watermarks and late ids only.
  std::vector<CounterLedger> ledgers_;
  std::map<std::string, AbTestSums> tests_;
  AbCustomerState customers_;
};

// The arm sums as the collector reports them: revenue in currency units, correctly rounded.
double CentsToUnits(ExactSum cents);
double SquareCentsToUnits(ExactSum square_cents);
std::string ExactSumText(ExactSum value);

// One line per corrected arm, with the differences.
void LogCorrections(Logger& log, const std::string& collector,
                    const std::vector<AbCorrection>& corrections);

}  // namespace outcomes
