// Exact incremental A/B aggregates: per test and variant the sums the ab_tests collector needs
// (customers, converted customers, recommendations, purchases, returns, revenue and revenue
// squared per customer, SATISFACTION sums), kept exact in integer cents and advanced each cycle
// from the rows past per-table watermarks (the CounterLedger late-id mechanism of the store
// collector). Each customer's conversion and running revenue are held in memory
// (AbCustomerState, capped), so a new row changes the sums without a re-read of its customer's
// history; a customer evicted past the cap is read back by one index lookup. Ids missing for
// longer than store.late_commit_window go to a reconciliation sweep per table (GapSweep), which
// re-checks a bounded batch each cycle and counts what it finds through the same delta. The
// full-window SQL is the first count, the count of a test new to the list and the oracle of
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
#include "exporter/counting/sweep.h"
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

// What the rows the sweep found (committed after store.late_commit_window) changed in one arm,
// for the log.
struct AbCorrection {
  std::string test;
  std::string variant;
  AbSums counted;  // before the sweep's rows
  AbSums store;    // with them, as the store holds the arm
};

// What one Advance() did.
struct AbAdvance {
  // The whole window was counted from this snapshot: the first cycle, or a table went back
  // below its watermark (an older backup restored).
  bool counted_from_scratch = false;
  std::vector<AbCorrection> corrections;  // what the sweep's rows changed
  std::int64_t sweep_rows_found = 0;      // rows of late commits the sweep counted
  std::int64_t sweep_passes_done = 0;     // tables whose sweep pass ended this cycle
  std::int64_t customers_read_back = 0;   // not held in memory, read by index lookup
  std::int64_t customers_evicted = 0;     // past analytics.ab_tests.max_tracked_customers
};

// The customers' state a cycle's deltas made, applied once every read succeeded.
using AbCustomerUpdates = std::map<AbCustomerKey, AbCustomer>;

// How fast the sweep re-checks the missing ranges (see SweepBatchSize): a pass per
// `reconcile_interval` at cycles of `interval`, at most `ranges_per_cycle` ranges per table.
struct AbSweepPace {
  Duration interval;
  Duration reconcile_interval;
  std::size_t ranges_per_cycle = 0;
};

class AbAggregates {
 public:
  // Reads the store through the names of `sql` (store.schema); `max_customers`: how many
  // customers the state holds at most (max_tracked_customers).
  AbAggregates(SchemaSql sql, std::int64_t max_customers);

  bool initialized() const { return initialized_; }
  const std::map<std::string, AbTestSums>& tests() const { return tests_; }
  const AbCustomerState& customers() const { return customers_; }
  // Ranges of missing ids the sweep re-checks, over the three tables.
  std::size_t swept_ranges() const;

  // Brings the aggregates up to the snapshot for `tests`: the first full count, else the rows
  // past the watermarks, then a sweep batch at `pace`, plus a full count of tests new to the
  // list (after a sweep of every range, so that no committed row is counted twice). On error
  // nothing changes.
  Result<AbAdvance> Advance(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                            bool has_split_column, const AbSweepPace& pace,
                            const std::string& retention, SteadyTime now);

  // Stops re-checking every cycle the ids missing for longer than `window` (and past the gap
  // cap): they go to the sweep. Returns how many ids the sweep's own cap gave up.
  std::int64_t ExpireGaps(SteadyTime now, Duration window);

 private:
  using CustomerUpdates = std::vector<std::pair<AbCustomerKey, AbCustomer>>;
  // What a cycle reads into, kept only once every statement succeeded.
  struct Next {
    std::map<std::string, AbTestSums> tests;
    std::vector<CounterLedger> ledgers;
    std::vector<GapSweep> sweeps;
    AbCustomerUpdates updates;
  };

  Status Initialize(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                    bool has_split_column, const std::string& retention, SteadyTime now);
  // Reads what the rows past the watermarks change (`tops` are the tables' highest ids in this
  // snapshot, none below its watermark) into `next`; `this` is left as it is.
  Status ReadDelta(SnapshotReader& reader, const std::vector<std::int64_t>& tops, SteadyTime now,
                   Next& next, AbAdvance& report) const;
  // Re-checks the next sweep batch of each table (every range when `whole`) and counts what it
  // finds into `next` (ab_sweep.cc).
  Status Sweep(SnapshotReader& reader, const std::vector<std::int64_t>& tops,
               const AbSweepPace& pace, bool whole, Next& next, AbAdvance& report) const;
  // Keeps what a cycle read, and the customers `loaded` of the `rebuilt` tests
  // (`loaded_complete`: all of them).
  void Commit(Next next, const std::map<std::string, AbTestSums>& rebuilt,
              const CustomerUpdates& loaded, bool loaded_complete);

  SchemaSql sql_;
  std::vector<TableSpec> tables_;        // recommendations, outcome_events, feedback
  std::vector<TableSpec> sweep_tables_;  // the same, named for the sweep's statements
  bool initialized_ = false;
  // recommendations, outcome_events, feedback: watermarks and late ids only.
  std::vector<CounterLedger> ledgers_;
  std::vector<GapSweep> sweeps_;  // per table: the ids the ledger released
  std::map<std::string, AbTestSums> tests_;
  AbCustomerState customers_;
};

// The arm sums as the collector reports them: revenue in currency units, correctly rounded.
double CentsToUnits(ExactSum cents);
double SquareCentsToUnits(ExactSum square_cents);
std::string ExactSumText(ExactSum value);

// One line per arm the sweep's rows changed, with the differences.
void LogCorrections(Logger& log, const std::string& collector,
                    const std::vector<AbCorrection>& corrections);

}  // namespace outcomes
