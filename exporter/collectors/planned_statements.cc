// The steady-state statements each SQL collector hands to the start-up plan check
// (exporter/store/plan_check.h), with parameters typical of a cycle: a thousand new ids from
// the start of the id range, no late ids, and the windows of the collector's configuration.
// Kept apart from the collectors' cycle code, which these lists only mirror.
#include <chrono>

#include "exporter/collectors/ab_sql.h"
#include "exporter/collectors/ab_tests.h"
#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/drift.h"
#include "exporter/collectors/store.h"
#include "exporter/counting/incremental.h"

namespace outcomes {
namespace {

// "after, upto, late ids" of NewRows::Params() for a cycle that saw a thousand new rows.
const std::vector<std::string> kNewRows = {"0", "1000", "{}"};

std::string Seconds(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " seconds";
}

// The unix minute (or hour, with `unit` 3600) of now minus `ago`, as the bounds statements give.
std::string UnitsAgo(Duration ago, std::int64_t unit) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const auto seconds = now - std::chrono::duration_cast<std::chrono::seconds>(ago);
  return std::to_string(seconds.count() / unit);
}

std::vector<std::string> Join(std::vector<std::string> first,
                              const std::vector<std::string>& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

}  // namespace

std::vector<PlannedStatement> StoreCollector::PlannedStatements() const {
  std::vector<PlannedStatement> statements;
  for (const TableSpec& spec : tables_) {
    statements.push_back({spec.table + "_new_rows", store_sql::RowsInRange(spec), {"0", "1000"}});
    statements.push_back({spec.table + "_gaps", store_sql::Gaps(spec), {"0", "1000"}});
    statements.push_back({spec.table + "_late_ids", store_sql::LateIds(spec), {"{1}", "{10}"}});
    statements.push_back({spec.table + "_late_rows", store_sql::RowsWithIds(spec), {"{1,10}"}});
  }
  return statements;
}

std::vector<PlannedStatement> CohortsCollector::PlannedStatements() const {
  const std::string first_minute = UnitsAgo(config_.lag + config_.window, 60);
  const std::string last_minute = UnitsAgo(config_.lag, 60);
  return {
      {"cohorts_delta", DeltaSql(sql_), Join(Join(kNewRows, kNewRows), {first_minute})},
      {"cohorts_edges",
       EdgesSql(sql_),
       {Seconds(config_.lag), Seconds(config_.window), first_minute, last_minute}},
      {"model_versions_first_seen", FirstSeenSql(sql_), {}},
  };
}

std::vector<PlannedStatement> DriftCollector::PlannedStatements() const {
  const std::string first_hour = UnitsAgo(config_.reference_window + config_.current_window, 3600);
  const std::string current_hour = UnitsAgo(config_.current_window, 3600);
  return {
      {"drift_delta", DeltaSql(sql_), Join(kNewRows, {first_hour})},
      {"drift_edges",
       EdgesSql(sql_),
       {Seconds(config_.reference_window), Seconds(config_.current_window), first_hour,
        current_hour}},
  };
}

// A cycle of one test with a thousand new ids per table and no late ones; the history of one
// customer; a sweep batch of one range per table. Nothing missing below the watermarks.
std::vector<PlannedStatement> AbTestsCollector::PlannedStatements() const {
  const std::vector<std::string> test = {"{t}", "{a}", "{b}"};
  const std::vector<std::string> missing = {"{}", "{}", "{}", "{}"};
  std::vector<PlannedStatement> statements = {
      {"ab_tests_delta", ab_sql::Delta(sql_),
       Join(Join(test, Join(Join(kNewRows, kNewRows), kNewRows)), missing)},
      {"ab_tests_history", ab_sql::History(sql_),
       Join({"{t}", "{a}", "{c}", "1000", "{}", "1000", "{}"}, missing)},
  };
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    TableSpec spec{table, "", "", 0, {Merge::kSum}};
    spec.key = sql_.Column(table, "id");
    spec.relation = sql_.Table(table);
    statements.push_back({std::string("ab_tests_") + table + "_sweep_ids",
                          store_sql::LateIds(spec),
                          {"{1}", "{10}"}});
  }
  return statements;
}

}  // namespace outcomes
