// The A/B test collector ("ab_tests"): for every RUNNING test in `ab_tests` (and ENDED ones
// for `ended_retention`), per variant units, conversions, revenue, satisfaction and returns from
// aggregate SQL (no raw rows leave the store), and per test the lift with its confidence
// interval, the fixed-horizon and always-valid (mSPRT) p-values, the chance that B beats A,
// the sample-ratio-mismatch p-value, the sample size needed, and the winner. The unit of
// analysis is the customer (assignment is by customer). See docs/METRICS.md.
#pragma once

#include <map>

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
  std::int64_t satisfaction_sum = 0;     // SATISFACTION feedback scores
  std::int64_t satisfaction_count = 0;
};

// The statistics of one test, A being variant_a (control) and B variant_b.
struct AbResult {
  std::string test;
  AbArm a;
  AbArm b;
  double lift = 0;  // relative, (rate_b - rate_a) / rate_a
  double lift_ci_low = 0;
  double lift_ci_high = 0;
  double p_value = 1;
  double always_valid_p_value = 1;
  double probability_b_beats_a = 0.5;
  double srm_p_value = 1;
  double required_units_per_arm = 0;
  bool sample_size_reached = false;
  std::string winner;  // variant name, or empty while inconclusive
};

// Computes the statistics of a test from its arms; `previous_always_valid` is the running
// minimum of the always-valid p-value so far (1 at the start).
AbResult AnalyzeAbTest(const std::string& test, const AbArm& a, const AbArm& b,
                       const AbTestsConfig& config, double previous_always_valid);

class AbTestsCollector : public SqlCollector {
 public:
  AbTestsCollector(const StoreConfig& store, AbTestsConfig config, StoreCollectorDeps deps);
  bool SameConfig(const Collector& other) const override;

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;

 private:
  const AbTestsConfig config_;
  std::vector<AbResult> results_;
  // Running minimum of each test's always-valid p-value, which makes it monotone.
  std::map<std::string, double> always_valid_;
};

}  // namespace outcomes
