// Exact incremental A/B aggregates: per test and variant the sums the ab_tests collector needs
// (customers, converted customers, recommendations, purchases, returns, revenue and revenue
// squared per customer, SATISFACTION sums), kept exact in integer cents and advanced each cycle
// from the rows past per-table watermarks (the CounterLedger late-id mechanism of the store
// collector). A customer touched by new rows is re-read through index lookups twice in one
// statement, as counted before and as it is now, and the difference is added; no per-customer
// state is kept in memory. The full-window SQL is the first count, the reconciliation every
// store.reconcile_interval and the oracle of the tests (see docs/EXACTNESS.md). Not
// thread-safe: owned by one collector.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/core/log.h"
#include "exporter/counting/counter_ledger.h"
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

// The statements, exposed so tests can check their plans and use the oracle.
namespace ab_sql {
// The tests to read: $1 the ended retention as an interval; `has_split_column` whether
// ab_tests has traffic_share_b.
std::string Tests(bool has_split_column);
// The full-window aggregate per (test, variant), the definition of every A/B value. With
// `exact`, revenue and squares come as integer cents and cents² (reconciliation); without, as
// float8 (the historical statement, the tests' oracle). $1 the ended retention; with `only`,
// $2 a text[] of the tests to read.
std::string FullWindow(bool has_split_column, bool exact, bool only = false);
// What the rows past the watermarks change, per (test, variant): $1..$3 the tracked tests,
// variant_a and variant_b as text[]; then per table (recommendations, outcome_events,
// feedback) the old watermark, the new one and the late ids found, as $4..$12.
std::string Delta();
}  // namespace ab_sql

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
};

class AbAggregates {
 public:
  AbAggregates();

  bool initialized() const { return initialized_; }
  const std::map<std::string, AbTestSums>& tests() const { return tests_; }

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
  Status Initialize(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                    bool has_split_column, const std::string& retention, SteadyTime now);
  // `tops` are the tables' highest ids in this snapshot, none below its watermark.
  Status ApplyDelta(SnapshotReader& reader, const std::vector<std::int64_t>& tops, SteadyTime now);

  bool initialized_ = false;
  // recommendations, outcome_events, feedback: watermarks and late ids only.
  std::vector<CounterLedger> ledgers_;
  std::map<std::string, AbTestSums> tests_;
};

// The arm sums as the collector reports them: revenue in currency units, correctly rounded.
double CentsToUnits(ExactSum cents);
double SquareCentsToUnits(ExactSum square_cents);
std::string ExactSumText(ExactSum value);

// One line per corrected arm, with the differences.
void LogCorrections(Logger& log, const std::string& collector,
                    const std::vector<AbCorrection>& corrections);

}  // namespace outcomes
