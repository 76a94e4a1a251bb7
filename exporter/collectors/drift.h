// The prediction drift collector ("drift"): the population stability index of
// recommendations.score per model_version, between a reference window and the current window,
// over equal-frequency bins cut on the reference (computed in SQL; only bin counts leave the
// store), with the sample sizes and the PSI that sampling noise alone reaches at 95%.
#pragma once

#include <map>

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
  const DriftConfig config_;
  std::vector<DriftResult> results_;
};

}  // namespace outcomes
