// The custom query collector ("query/<name>"): one metric from any read-only SQL, with label
// columns, one or several value columns and static labels. A gauge query re-reads its result
// every interval, and series that vanish from the result vanish from /metrics. An incremental
// query counts an append-only table exactly, past a watermark, with the same late-commit
// handling as the built-in counters. At most max_series series are exported; the excess is
// dropped, shown in outcomes_exporter_query_series_dropped and logged once. A histogram query
// counts one value column into buckets per label set, in the database, in either mode.
#pragma once

#include <map>

#include "exporter/collectors/sql_collector.h"
#include "exporter/counting/incremental.h"
#include "exporter/metrics/family.h"

namespace outcomes {

class QueryCollector : public WithSettings<SqlCollector, QueryConfig> {
 public:
  QueryCollector(const StoreConfig& store, const QueryConfig& config,
                 const StoreCollectorDeps& deps);

  // The user's SQL wrapped so that the database picks the configured columns by name, in
  // order: labels, then values. Public for tests.
  static std::string WrappedSql(const QueryConfig& config);
  // A histogram query's aggregate per label set: count, one cumulative count per bucket, sum
  // (in millionths when incremental). Public for tests.
  static std::string HistogramSql(const QueryConfig& config);
  // The incremental histogram's sum is kept in integer millionths of the value's unit.
  static constexpr double kIncrementalSumScale = 1e6;

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;
  // Incremental mode: the per-cycle reads of the table, which is watched too (plan_check.h;
  // both in planned_statements.cc).
  std::vector<PlannedStatement> PlannedStatements() const override;
  std::vector<ShippedIndex> WatchedTables() const override;

 private:
  Status ReadGauge(SnapshotReader& reader);
  Status ReadIncremental(SnapshotReader& reader);
  Status ReadHistogram(SnapshotReader& reader);
  bool histogram() const { return config_.type == "histogram"; }
  void AddHistogram(prometheus::MetricFamily& family, const Labels& labels,
                    const std::vector<double>& values) const;
  // Counts the series over max_series (they are left out of Families) and warns once.
  void CountDropped();

  // settings(), by the name the reads use.
  const QueryConfig& config_ = settings();
  std::optional<TableSpec> spec_;        // incremental mode only
  std::optional<CounterLedger> ledger_;  // incremental mode only
  std::optional<std::chrono::steady_clock::time_point> last_full_count_;
  std::map<LabelValues, std::vector<double>> series_;  // gauge mode: the last result
  std::size_t dropped_ = 0;
  bool warned_about_cardinality_ = false;
  std::function<std::chrono::steady_clock::time_point()> now_;
};

// The factory of "query/<name>": one collector per `queries` entry, when `store` is configured.
void AddQueryCollectors(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
