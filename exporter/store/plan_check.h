// The start-up plan check: a collector names its steady-state statements with representative
// parameters, and once per start they are EXPLAINed (never run, no ANALYZE) in a read-only
// snapshot with sequential scans discouraged. A statement whose plan still reads one of the
// large reference tables whole (a sequential scan, or an index read without a usable
// condition) lacks an index: one warning names the statement and the index of
// deploy/sql/schema.sql it needs. The check never fails a collector. Pure functions apart from
// CheckPlansOnce(), which uses the session and the logger it is given; thread-compatible.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/config/schema.h"
#include "exporter/core/log.h"
#include "exporter/core/status.h"
#include "exporter/store/session.h"

namespace outcomes {

// A statement as a collector runs it in its steady state, with parameters typical of a cycle.
struct PlannedStatement {
  std::string name;  // the name the collector queries it by
  std::string sql;
  std::vector<std::string> params;
};

// An index of deploy/sql/schema.sql, by the column it starts with.
struct ShippedIndex {
  std::string table;
  std::string leading_column;
  std::string name;
};

// The shipped indexes of the tables the check watches, most specific first per table.
const std::vector<ShippedIndex>& ShippedIndexes();
// ShippedIndexes() with each table and leading column as `schema` names them, so that a plan
// of a store mapped with store.schema is matched by its own names; the index names stay the
// shipped ones (the advice names what deploy/sql/schema.sql creates).
std::vector<ShippedIndex> WatchedIndexes(const StoreSchema& schema);

// A plan that reads a watched table whole.
struct WholeTableRead {
  std::string table;
  std::string node;   // e.g. "Seq Scan", "Index Scan using recommendations_pkey"
  std::string index;  // the shipped index that would serve it; empty when none fits
};

// Reads one EXPLAIN (FORMAT JSON) document; nullopt when no node reads a table of `watched`
// whole.
Result<std::optional<WholeTableRead>> FindWholeTableRead(
    const std::string& plan_json, const std::vector<ShippedIndex>& watched = ShippedIndexes());

// EXPLAINs each statement in one snapshot of `session` (connected by the caller) and returns
// one line per statement that reads a table whole, in the order given.
Result<std::vector<std::pair<std::string, WholeTableRead>>> CheckPlans(
    StoreSession& session, const std::vector<PlannedStatement>& statements,
    const std::vector<ShippedIndex>& watched = ShippedIndexes());

using SessionFactory = std::function<std::unique_ptr<StoreSession>(const SessionOptions&)>;

// The check as a collector runs it at its first successful connection: on a session of its
// own (so the collector's statements, metrics and snapshot stay as they are), one warning per
// finding; a check that cannot run says so in one info line.
void CheckPlansOnce(const SessionFactory& make_session, const SessionOptions& options,
                    const std::vector<PlannedStatement>& statements, Logger& log,
                    const std::string& collector,
                    const std::vector<ShippedIndex>& watched = ShippedIndexes());

}  // namespace outcomes
