// The matured-cohort collector ("cohorts"): purchases and returns arrive days after the
// recommendation, so a fresh model version looks worse than it is. Per model_version it
// exports the rates of recommendations created in [now - lag - window, now - lag], the share
// still undecided, and when each version was first seen, so PERFORMANCE_DROP compares like
// with like. Also exports the configured cost per recommendation for the ROI rule.
#pragma once

#include "exporter/collectors/sql_collector.h"

namespace outcomes {

struct Cohort {
  std::string model_version;
  std::int64_t recommendations = 0;
  std::int64_t accepted = 0;
  std::int64_t rejected = 0;
  std::int64_t purchased = 0;
  std::int64_t returned = 0;
  std::int64_t pending = 0;  // no decisive event yet (only PENDING, or none)
};

class CohortsCollector : public SqlCollector {
 public:
  CohortsCollector(const StoreConfig& store, CohortsConfig config, double cost_per_recommendation,
                   StoreCollectorDeps deps);
  bool SameConfig(const Collector& other) const override;

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;

 private:
  const CohortsConfig config_;
  const double cost_per_recommendation_;
  std::vector<Cohort> cohorts_;
  std::vector<std::pair<std::string, double>> first_seen_;  // model_version, unix seconds
};

}  // namespace outcomes
