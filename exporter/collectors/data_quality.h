// The data-quality collector ("data_quality"): how long outcomes take to arrive after their
// recommendation (outcomes_event_delay_seconds per model_version and status) and the rows that
// contradict the life of a recommendation (outcomes_data_quality_issues_total per table and
// check, over outcomes_data_quality_checked_total), counted from the rows new since the
// exporter started.
//
// Each table's new rows come from a NewRowsTracker (watermark and late ids). A row is judged
// once every lower id of its table is visible or given up (older than
// store.late_commit_window): the judged range (judged, settled] holds no id still in flight, so
// a verdict that looks at the recommendation's earlier events ("is there an earlier PURCHASED")
// is final when it is taken, and each row is judged exactly once. Every statement reads that
// range through the primary key and looks the rest up by index. Not thread-safe: owned by the
// scheduler's worker thread (Cancel() from any thread, as every SqlCollector).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "exporter/collectors/sql_collector.h"
#include "exporter/counting/new_rows.h"
#include "exporter/store/schema_sql.h"

namespace outcomes {

// The checks, each of one table: (table, check), in the order exported.
const std::vector<std::pair<std::string, std::string>>& DataQualityChecks();

class DataQualityCollector : public WithSettings<SqlCollector, DataQualityConfig> {
 public:
  DataQualityCollector(const StoreConfig& store, const DataQualityConfig& config,
                       StoreCollectorDeps deps);

  // The statements that judge the ids in ($1, $2] of their table, public so tests can check
  // their plans. EventsSql() takes the delay buckets' upper bounds as $3 (float8[]) and returns
  // model_version, status, bucket (the number of bounds below the delay), count, delay sum in
  // ms, then one count per outcome_events check of DataQualityChecks().
  static std::string EventsSql(const SchemaSql& sql = SchemaSql());
  static std::string RecommendationsSql(const SchemaSql& sql = SchemaSql());
  static std::string FeedbackSql(const SchemaSql& sql = SchemaSql());

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;

 private:
  // One table: its tracker and the highest id judged.
  struct Table {
    std::string name;
    NewRowsTracker tracker;
    std::int64_t judged = 0;
  };
  // Delay of one (model_version, status): counts per bucket (the last is +Inf, not cumulative)
  // and the sum in milliseconds.
  struct Delays {
    std::vector<std::int64_t> counts;
    std::int64_t sum_ms = 0;
  };
  // What the counters hold; a cycle works on a copy and keeps it only if it succeeds.
  struct Counts {
    std::map<std::pair<std::string, std::string>, Delays> delays;
    std::map<std::string, std::int64_t> checked;                         // by table
    std::map<std::pair<std::string, std::string>, std::int64_t> issues;  // (table, check)
  };

  Status AdvanceTable(SnapshotReader& reader, Table& table, Counts& counts, SteadyTime now);
  Status JudgeEvents(SnapshotReader& reader, std::int64_t after, std::int64_t upto,
                     Counts& counts) const;
  Status JudgeRows(SnapshotReader& reader, const std::string& table, std::int64_t after,
                   std::int64_t upto, Counts& counts) const;

  // settings(), by the name the reads use.
  const DataQualityConfig& config_ = settings();
  const SchemaSql sql_;  // store.schema
  std::vector<Table> tables_;
  Counts counts_;
  bool started_ = false;
};

// The factory of "data_quality": one collector when `store` and `analytics.data_quality` are
// configured.
void AddDataQualityCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
