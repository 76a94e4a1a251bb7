// NewRowsTracker: which rows of one append-only table are new since the last cycle, with the
// watermark and late-id mechanism of the store collector (CounterLedger's watermark and gaps,
// the statements of store_sql; see docs/EXACTNESS.md). Unlike ReadIncremental it does not
// count: it hands the caller an id filter for its own aggregate, so collectors whose state is
// not a monotonic counter (matured cohorts, score histograms) reuse the exactness argument.
// Read() changes nothing; Commit() applies a read once the caller's cycle succeeded.
// Not thread-safe: owned by one collector.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "exporter/counting/incremental.h"
#include "exporter/store/schema_sql.h"

namespace outcomes {

// The rows one snapshot adds: ids in (after, upto] plus the late ids found in old gaps.
struct NewRows {
  bool baseline = false;  // first read, or the table went back: rebuild from the whole table
  std::int64_t after = 0;
  std::int64_t upto = 0;
  std::vector<std::int64_t> found_ids;
  std::vector<IdRange> new_gaps;
  std::int64_t old_watermark = 0;  // for the log line of a table that went back

  // The SQL parameters of NewRowsFilter: after, upto, found ids as an array literal.
  std::vector<std::string> Params() const;
};

// "(id > $a AND id <= $b) OR id = ANY($c)" for `column` (SQL text, or a SchemaSql placeholder
// rendered with the rest), with $a = $first, $b, $c following.
std::string NewRowsFilter(const std::string& column, int first);

// Whether in-memory aggregates fed from new rows are read again from the store: after a
// baseline (start, a table gone back below its watermark) or every 12 store reconcile intervals,
// which finds what a gap dropped after late_commit_window. A rebuild reads whole windows, the
// cost the aggregates exist to avoid, hence the multiple.
bool AggregatesRebuildDue(bool baseline, const std::optional<SteadyTime>& last_rebuild,
                          SteadyTime now, Duration reconcile_interval);

class NewRowsTracker {
 public:
  // `table` is a reference table; the statements use the store's names for it.
  NewRowsTracker(const SchemaSql& sql, std::string table);

  bool initialized() const { return ledger_.initialized(); }
  std::int64_t watermark() const { return ledger_.watermark(); }
  std::int64_t pending_ids() const { return ledger_.pending_ids(); }
  // The id ranges below the watermark still re-checked, ascending.
  std::vector<IdRange> gaps() const { return ledger_.gaps(); }

  // Statement names start with `prefix` + the table's name.
  Result<NewRows> Read(SnapshotReader& reader, const std::string& prefix) const;
  // Returns the ids of a jump of the sequence that are not tracked (see kMinTrackedGapIds).
  std::int64_t Commit(const NewRows& rows, SteadyTime now, Duration late_commit_window);

 private:
  TableSpec spec_;
  CounterLedger ledger_{{Merge::kSum}};
};

}  // namespace outcomes
