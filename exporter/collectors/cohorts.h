// The matured-cohort collector ("cohorts"): purchases and returns arrive days after the
// recommendation, so a fresh model version looks worse than it is. Per model_version it
// exports the rates of recommendations created in [now - lag - window, now - lag), the share
// still undecided, and when each version was first seen, so PERFORMANCE_DROP compares like
// with like. Also exports the configured cost per recommendation for the ROI rule.
//
// The cohort is kept in memory as aggregates per (model_version, creation minute), built once
// from the store and then updated from the recommendations and outcome events that are new
// since the last cycle (NewRowsTracker: watermark and late ids, as the store collector). The
// two partial minutes at the window's edges are read from the store each cycle, so the result
// equals OracleSql() exactly. Rows committed after store.late_commit_window are found by the
// trackers' sweep and join the new rows; the windows are read whole only for the baseline
// (start, a table gone back below its watermark). See docs/METRICS.md, docs/EXACTNESS.md.
#pragma once

#include <map>
#include <optional>

#include "exporter/collectors/sql_collector.h"
#include "exporter/counting/new_rows.h"

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

// The counts of one (model_version, creation minute).
struct CohortCounts {
  std::int64_t recommendations = 0;
  std::int64_t accepted = 0;
  std::int64_t rejected = 0;
  std::int64_t purchased = 0;
  std::int64_t returned = 0;
  std::int64_t pending = 0;
  bool operator==(const CohortCounts&) const = default;
};

// (model_version, unix minute of created_at) -> counts.
using CohortBuckets = std::map<std::pair<std::string, std::int64_t>, CohortCounts>;

// What a reload compares: the section and the cost per recommendation, from `analytics`.
struct CohortsSettings {
  CohortsConfig cohorts;
  double cost_per_recommendation = 0;
  bool operator==(const CohortsSettings&) const = default;
};

class CohortsCollector : public WithSettings<SqlCollector, CohortsSettings> {
 public:
  CohortsCollector(const StoreConfig& store, CohortsConfig config, double cost_per_recommendation,
                   StoreCollectorDeps deps);

  // The full-window query ($1 lag, $2 window as intervals): the definition, and the oracle
  // of the tests.
  static std::string OracleSql(const SchemaSql& sql = SchemaSql());
  // The per-minute aggregates from the unix minute $1 on: the baseline.
  static std::string BaselineSql(const SchemaSql& sql = SchemaSql());
  // The steady-state statements, public so tests can check their plans.
  static std::string DeltaSql(const SchemaSql& sql = SchemaSql());
  static std::string EdgesSql(const SchemaSql& sql = SchemaSql());
  static std::string FirstSeenSql(const SchemaSql& sql = SchemaSql());

  // The cohorts of the last successful cycle (for tests; not thread-safe).
  const std::vector<Cohort>& cohorts() const { return cohorts_; }

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;
  std::vector<PlannedStatement> PlannedStatements() const override;  // planned_statements.cc

 private:
  Result<CohortBuckets> ReadBuckets(SnapshotReader& reader, std::int64_t first_minute,
                                    const NewRows& recommendations, const NewRows& events,
                                    bool baseline);
  void LogSwept(const NewRows& recommendations, const NewRows& events);

  // settings(), by the name the reads use.
  const CohortsConfig& config_ = settings().cohorts;
  const double cost_per_recommendation_ = settings().cost_per_recommendation;
  std::vector<Cohort> cohorts_;
  std::vector<std::pair<std::string, double>> first_seen_;  // model_version, unix seconds

  const SchemaSql sql_;  // the store's names (store.schema)
  NewRowsTracker recommendations_;
  NewRowsTracker events_;
  CohortBuckets buckets_;
};

// The factory of "cohorts": one collector when `store` and `analytics.cohorts` are configured.
void AddCohortsCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
