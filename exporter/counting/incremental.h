// Exact incremental counting of one append-only table into a CounterLedger, within one
// snapshot: the first full count, then reads past the watermark with gap re-checks, and the
// periodic full recount (see docs/EXACTNESS.md). Used by the store collector for the reference
// schema and by incremental custom queries for any table. Pure functions of their arguments.
#pragma once

#include <string>
#include <vector>

#include "exporter/core/log.h"
#include "exporter/counting/counter_ledger.h"
#include "exporter/store/session.h"

namespace outcomes {

// How one table is read. `aggregate_sql` holds "{filter}" where the id condition goes; its
// first `label_count` columns are labels, the rest values in the order of `merges`.
struct TableSpec {
  std::string table;
  std::string id_column;  // qualified id column used in the filter, e.g. "e.id"
  std::string aggregate_sql;
  std::size_t label_count = 0;
  std::vector<Merge> merges;
  std::string key = "id";  // the id column unqualified, for reads of the table alone
  // The table as SQL names it (quoted, maybe schema-qualified); empty: `table`, which then is
  // both the SQL name and the statement names' prefix (custom queries).
  std::string relation = {};  // a default initializer, so brace-initialized specs may omit it
  // A table counted through the rows it references (events and feedback through their
  // recommendation) names that table and the two columns of the join, qualified
  // ("e.recommendation_id", "r.id"): the first count splits the referenced ids, so that each
  // range joins only its part of both tables (see store_startup.h).
  std::string referenced_table = {};
  std::string reference_column = {};
  std::string referenced_id_column = {};
};

// Most gap ranges kept per table; beyond it the oldest are left to the full recount.
inline constexpr std::size_t kMaxGapRanges = 10'000;
// How far below the top id the first full count looks for ids still being written.
inline constexpr std::int64_t kInitialGapScan = 100'000;

// The statements of one cycle, exposed so tests can check their plans. $1/$2 are ids.
namespace store_sql {
// Highest id of the table (0 when empty).
std::string MaxId(const TableSpec& spec);
// Ranges of ids missing in ($1, $2], as (first, last) rows.
std::string Gaps(const TableSpec& spec);
// Ids now visible inside the gap ranges given as arrays $1 (firsts) and $2 (lasts).
std::string LateIds(const TableSpec& spec);
// The aggregate of the ids in array $1.
std::string RowsWithIds(const TableSpec& spec);
// The aggregate of the ids in ($1, $2].
std::string RowsInRange(const TableSpec& spec);
// The aggregate of the rows that reference ids in ($1, $2] of spec.referenced_table.
std::string RowsReferencingRange(const TableSpec& spec);
// The aggregate of the whole table.
std::string AllRows(const TableSpec& spec);
}  // namespace store_sql

// The ids visible inside `ranges` (the statement named `statement`; none read when empty).
Result<std::vector<std::int64_t>> ReadVisibleIds(SnapshotReader& reader, const TableSpec& spec,
                                                 const std::string& statement,
                                                 const std::vector<IdRange>& ranges);
// The aggregate of the rows with `ids` (statement "<table><name>"; none read when empty).
Result<std::vector<AggregateRow>> ReadRowsWithIds(SnapshotReader& reader, const TableSpec& spec,
                                                  const std::string& name,
                                                  const std::vector<std::int64_t>& ids);

// The ranges of ids missing in (from, to] (statement "<table><name>").
Result<std::vector<IdRange>> ReadGaps(SnapshotReader& reader, const TableSpec& spec,
                                      const std::string& name, std::int64_t from, std::int64_t to);
// The aggregate of the rows with ids in (from, to] (statement "<table><name>").
Result<std::vector<AggregateRow>> ReadRowsInRange(SnapshotReader& reader, const TableSpec& spec,
                                                  const std::string& name, std::int64_t from,
                                                  std::int64_t to);
// The aggregate of the rows that reference ids in (from, to] of spec.referenced_table
// (statement "<table><name>").
Result<std::vector<AggregateRow>> ReadRowsReferencingRange(SnapshotReader& reader,
                                                           const TableSpec& spec,
                                                           const std::string& name,
                                                           std::int64_t from, std::int64_t to);

// Brings `ledger` up to the snapshot: the first full count when it is empty, else an
// increment, followed by a full recount when `full_count`; a table that went back below the
// watermark is counted from scratch instead (CounterLedger::Rebase). Statement names start
// with the table's name. Returns what the read noticed and the recount corrected.
// `scan_all_gaps`: a count from scratch also reads the ids missing below the last
// kInitialGapScan ids (statement "<table>_old_gaps"), for the caller to release to a sweep.
Result<FullCountReport> ReadIncremental(SnapshotReader& reader, const TableSpec& spec,
                                        CounterLedger& ledger, bool full_count, SteadyTime now,
                                        bool scan_all_gaps = false);

// One log line per kind of correction: a rebase, a jump of ids, what a recount found.
void LogRecount(Logger& log, const std::string& collector, const std::string& table,
                const FullCountReport& report);

}  // namespace outcomes
