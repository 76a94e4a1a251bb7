// The prediction drift collector ("drift"): the population stability index of
// recommendations.score per model_version, between a reference window and the current window,
// over equal-frequency bins cut on the reference (computed in SQL; only bin counts leave the
// store), with the sample sizes and the PSI that sampling noise alone exceeds 5% of the time
// (simulated for the bins and sizes, see stats::PsiNoiseLevel).
#pragma once

#include <map>
#include <tuple>

#include "exporter/collectors/sql_collector.h"

namespace outcomes {

struct DriftResult {
  std::string model_version;
  std::vector<std::int64_t> reference;  // counts per bin
  std::vector<std::int64_t> current;
  double psi = 0;
  double noise_level = 0;
};

class DriftCollector : public SqlCollector {
 public:
  DriftCollector(const StoreConfig& store, DriftConfig config, StoreCollectorDeps deps);
  bool SameConfig(const Collector& other) const override;

  // The SQL that returns (model_version, window, bin, count); public for tests.
  static std::string BinsSql(std::int64_t bins);

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;

 private:
  // The noise level at (bins, N, M) from the simulation, memoised: only the sizes seen in the
  // last cycle are kept, so the cache stays as small as the number of model versions.
  double NoiseLevel(std::int64_t n, std::int64_t m);

  const DriftConfig config_;
  std::vector<DriftResult> results_;
  std::map<std::tuple<std::int64_t, std::int64_t>, double> noise_levels_;  // (N, M) -> level
  std::map<std::tuple<std::int64_t, std::int64_t>, double> noise_levels_used_;
};

}  // namespace outcomes
