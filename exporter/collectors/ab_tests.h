// The A/B test collector ("ab_tests"): for every RUNNING test in `ab_tests` (and ENDED ones
// for `ended_retention`), per variant units, conversions, revenue, satisfaction and returns from
// aggregate SQL (no raw rows leave the store), and per test the lift with its confidence
// interval, the fixed-horizon and always-valid (mSPRT) p-values, the chance that B beats A,
// the sample-ratio-mismatch p-value against the test's intended split, the revenue per
// customer's standard error and Welch test, the sample size needed, and the winner. The unit of
// analysis is the customer (assignment is by customer). The per-arm sums are kept exact and
// advanced from the new rows each cycle (AbAggregates), late commits found by the
// reconciliation sweep within store.reconcile_interval. See docs/METRICS.md and docs/EXACTNESS.md.
#pragma once

#include <functional>
#include <map>
#include <optional>

#include "exporter/collectors/ab_aggregates.h"
#include "exporter/collectors/sql_collector.h"

namespace outcomes {

// What one arm of a test holds, summed over its customers.
struct AbArm {
  std::string variant;
  std::int64_t customers = 0;
  std::int64_t recommendations = 0;
  std::int64_t converted_customers = 0;  // customers with at least one PURCHASED
  std::int64_t purchases = 0;            // recommendations purchased
  std::int64_t returns = 0;              // recommendations returned
  double revenue = 0;                    // PURCHASED minus RETURNED revenue
  double revenue_squares = 0;            // sum over customers of their revenue squared
  std::int64_t satisfaction_sum = 0;     // SATISFACTION feedback scores
  std::int64_t satisfaction_count = 0;
};

// The strongest always-valid evidence a test has seen: the running minimum of the mSPRT
// p-value and the direction of the look that set it (+1 favours B, -1 favours A, 0 none).
// The winner follows this direction, not the current difference, so a later swing of the
// data cannot hand the win to an arm that never had the evidence.
struct AlwaysValidEvidence {
  double p_value = 1;
  int direction = 0;

  bool operator==(const AlwaysValidEvidence&) const = default;
};

// The statistics of one test, A being variant_a (control) and B variant_b.
struct AbResult {
  std::string test;
  AbArm a;
  AbArm b;
  double traffic_share_b = 0.5;  // intended share of customers in B (ab_tests.traffic_share_b)
  double lift = 0;               // relative, (rate_b - rate_a) / rate_a
  double lift_ci_low = 0;
  double lift_ci_high = 0;
  double p_value = 1;
  double always_valid_p_value = 1;  // evidence.p_value, kept for readers
  AlwaysValidEvidence evidence;
  double msprt_tau = 0;  // the mixing standard deviation used (configured or derived)
  double probability_b_beats_a = 0.5;
  double srm_p_value = 1;
  double revenue_se_a = 0;  // standard error of revenue per customer, per arm
  double revenue_se_b = 0;
  double revenue_p_value = 1;  // Welch t-test of revenue per customer, B against A
  double required_units_per_arm = 0;
  bool sample_size_reached = false;
  std::string winner;  // variant name, or empty while inconclusive
};

// Computes the statistics of a test from its arms; `previous` is the evidence of the earlier
// looks (none at the start) and `traffic_share_b` the intended share of B, in (0, 1).
AbResult AnalyzeAbTest(const std::string& test, const AbArm& a, const AbArm& b,
                       const AbTestsConfig& config, const AlwaysValidEvidence& previous,
                       double traffic_share_b = 0.5);

class AbTestsCollector : public WithSettings<SqlCollector, AbTestsConfig> {
 public:
  AbTestsCollector(const StoreConfig& store, const AbTestsConfig& config,
                   const StoreCollectorDeps& deps);
  // The tests of the last successful cycle, for tests.
  const std::vector<AbResult>& results() const { return results_; }
  // Ranges of missing ids the reconciliation sweep re-checks, for tests and benchmarks.
  std::size_t swept_ranges() const { return aggregates_.swept_ranges(); }

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;
  // The steady-state statements for the start-up plan check (planned_statements.cc).
  std::vector<PlannedStatement> PlannedStatements() const override;

 private:
  // settings(), by the name the reads use.
  const AbTestsConfig& config_ = settings();
  const std::function<SteadyTime()> now_;
  const SchemaSql sql_;  // the store's names (store.schema)
  AbAggregates aggregates_;
  std::vector<AbResult> results_;
  // Each test's strongest always-valid evidence so far, which makes its p-value monotone.
  std::map<std::string, AlwaysValidEvidence> always_valid_;
};

// The factory of "ab_tests": one collector when `store` and `analytics.ab_tests` are configured.
void AddAbTestsCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
