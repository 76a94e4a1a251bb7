// The steady-state statements each SQL collector hands to the start-up plan check
// (exporter/store/plan_check.h), with parameters typical of a cycle: a thousand new ids from
// the start of the id range, no late ids, and the windows of the collector's configuration.
// Kept apart from the collectors' cycle code, which these lists only mirror.
#include <chrono>
#include <limits>

#include "exporter/collectors/ab_sql.h"
#include "exporter/collectors/ab_tests.h"
#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/drift.h"
#include "exporter/collectors/query.h"
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

// The per-cycle reads of one incrementally counted table (ReadIncremental).
void AddIncrementalReads(const TableSpec& spec, std::vector<PlannedStatement>& statements) {
  statements.push_back({spec.table + "_new_rows", store_sql::RowsInRange(spec), {"0", "1000"}});
  statements.push_back({spec.table + "_gaps", store_sql::Gaps(spec), {"0", "1000"}});
  statements.push_back({spec.table + "_late_ids", store_sql::LateIds(spec), {"{1}", "{10}"}});
  statements.push_back({spec.table + "_late_rows", store_sql::RowsWithIds(spec), {"{1,10}"}});
}

// The relation EXPLAIN names for `table` as a query writes it: the last dotted part, unquoted.
std::string RelationName(const std::string& table) {
  std::string name;
  bool quoted = false;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const char c = table[i];
    if (c == '"' && quoted && i + 1 < table.size() && table[i + 1] == '"') {
      name += c;
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '.' && !quoted) {
      name.clear();
    } else {
      name += c;
    }
  }
  return name;
}

// The sweep's re-check of released id ranges, through the primary key
// ("<prefix><table>_sweep_ids"), as NewRowsTracker runs it.
PlannedStatement SweepIdsStatement(const std::string& prefix, const TableSpec& spec) {
  return {prefix + spec.table + "_sweep_ids", store_sql::LateIds(spec), {"{1}", "{10}"}};
}

}  // namespace

std::vector<PlannedStatement> StoreCollector::PlannedStatements() const {
  std::vector<PlannedStatement> statements;
  for (const TableSpec& spec : tables_) AddIncrementalReads(spec, statements);
  return statements;
}

std::vector<PlannedStatement> QueryCollector::PlannedStatements() const {
  std::vector<PlannedStatement> statements;
  if (spec_) AddIncrementalReads(*spec_, statements);
  return statements;
}

std::vector<ShippedIndex> QueryCollector::WatchedTables() const {
  std::vector<ShippedIndex> watched = SqlCollector::WatchedTables();
  // The user's table has no shipped index: a whole read of it needs one on its id column.
  if (spec_) watched.push_back({RelationName(spec_->table), spec_->key, ""});
  return watched;
}

std::vector<PlannedStatement> CohortsCollector::PlannedStatements() const {
  const std::string first_minute = UnitsAgo(config_.lag + config_.window, 60);
  const std::string last_minute = UnitsAgo(config_.lag, 60);
  std::vector<PlannedStatement> statements = {
      {"cohorts_delta", DeltaSql(sql_), Join(Join(kNewRows, kNewRows), {first_minute})},
      {"cohorts_edges",
       EdgesSql(sql_),
       {Seconds(config_.lag), Seconds(config_.window), first_minute, last_minute}},
      {"model_versions_first_seen", FirstSeenSql(sql_), {}},
  };
  statements.push_back(SweepIdsStatement("cohorts_", recommendations_.spec()));
  statements.push_back(SweepIdsStatement("cohorts_", events_.spec()));
  return statements;
}

// A cycle one interval after the last: the windows' edges moved by an interval. Every id is
// counted (as at the top of a long history), so only the created_at index can serve the edges.
std::vector<PlannedStatement> DriftCollector::PlannedStatements() const {
  using std::chrono::microseconds;
  const auto micros = [](Duration duration) {
    return std::chrono::duration_cast<microseconds>(duration).count();
  };
  const std::int64_t now =
      std::chrono::duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::int64_t current = now - micros(config_.current_window);
  const std::int64_t reference = current - micros(config_.reference_window);
  const std::int64_t step = micros(config_.interval);
  std::vector<PlannedStatement> statements = {
      {"drift_delta", DeltaSql(sql_),
       Join(kNewRows, {std::to_string(reference), std::to_string(current)})},
      {"drift_edges",
       EdgesSql(sql_),
       {std::to_string(reference - step), std::to_string(reference), std::to_string(current - step),
        std::to_string(current), std::to_string(std::numeric_limits<std::int64_t>::max()), "{}",
        "{}"}},
  };
  statements.push_back(SweepIdsStatement("drift_", recommendations_.spec()));
  return statements;
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
