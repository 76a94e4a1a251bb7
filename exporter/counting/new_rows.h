// NewRowsTracker: which rows of one append-only table are new since the last cycle, with the
// watermark and late-id mechanism of the store collector (CounterLedger's watermark and gaps,
// the statements of store_sql; see docs/EXACTNESS.md). Unlike ReadIncremental it does not
// count: it hands the caller an id filter for its own aggregate, so collectors whose state is
// not a monotonic counter (matured cohorts, score histograms) reuse the exactness argument.
// Read() changes nothing; Commit() applies a read once the caller's cycle succeeded.
// With SweepReleasedGaps(), the ids the ledger stops re-checking go to a GapSweep and a bounded
// batch of them is re-checked each cycle, so a late commit joins the new rows exactly once
// whatever its delay, and no window has to be read again to find it.
// Not thread-safe: owned by one collector.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "exporter/counting/incremental.h"
#include "exporter/counting/sweep.h"
#include "exporter/store/schema_sql.h"

namespace outcomes {

// The rows one snapshot adds: ids in (after, upto] plus the late ids found in old gaps and in
// the sweep's batch.
struct NewRows {
  bool baseline = false;  // first read, or the table went back: read the whole table
  std::int64_t after = 0;
  std::int64_t upto = 0;
  std::vector<std::int64_t> found_ids;  // includes swept_ids
  std::vector<IdRange> sweep_batch;     // the released ranges re-checked in this snapshot
  std::vector<std::int64_t> swept_ids;  // the ids of sweep_batch visible now
  std::vector<IdRange> new_gaps;
  std::int64_t old_watermark = 0;  // for the log line of a table that went back

  // The SQL parameters of NewRowsFilter: after, upto, found ids as an array literal.
  std::vector<std::string> Params() const;
};

// "(id > $a AND id <= $b) OR id = ANY($c)" for `column` (SQL text, or a SchemaSql placeholder
// rendered with the rest), with $a = $first, $b, $c following.
std::string NewRowsFilter(const std::string& column, int first);

// "`column` lies in one of the ranges whose sorted first and last ids are the arrays $first and
// $first + 1", by a binary search (width_bucket) instead of a scan of the arrays.
std::string InRangesFilter(const std::string& column, int first);
// The two array parameters of InRangesFilter for `ranges` (sorted, disjoint).
std::vector<std::string> RangeParams(const std::vector<IdRange>& ranges);

// The rows the earlier cycles counted: "`column` <= $first (after) and not in the missing ranges
// $first + 1 / $first + 2", with NewRowsTracker::CountedParams().
std::string CountedFilter(const std::string& column, int first);

// The pace of the sweep, as the store collector's: a pass per `reconcile_interval` at
// `interval` cycles, at most `ranges_per_cycle` ranges a cycle (store.sweep_ranges_per_cycle).
struct SweepPace {
  Duration interval;
  Duration reconcile_interval;
  std::int64_t ranges_per_cycle = 1'000;
};

class NewRowsTracker {
 public:
  // `table` is a reference table; the statements use the store's names for it.
  NewRowsTracker(const SchemaSql& sql, std::string table);

  bool initialized() const { return ledger_.initialized(); }
  std::int64_t watermark() const { return ledger_.watermark(); }
  std::int64_t pending_ids() const { return ledger_.pending_ids(); }
  // The id ranges below the watermark still re-checked, ascending.
  std::vector<IdRange> gaps() const { return ledger_.gaps(); }
  // The table's names in the store (for the plan check of the statements).
  const TableSpec& spec() const { return spec_; }

  // From now on, ranges the ledger releases (gaps older than late_commit_window, over the cap,
  // a jump of the sequence) are swept at `pace` instead of forgotten.
  void SweepReleasedGaps(SweepPace pace);
  // The released ranges still re-checked.
  std::size_t swept_ranges() const { return sweep_.ranges(); }

  // Statement names start with `prefix` + the table's name: "_max_id", "_gaps", "_late_ids",
  // and "_sweep_ids" for the sweep's batch.
  Result<NewRows> Read(SnapshotReader& reader, const std::string& prefix) const;
  // The SQL parameters of CountedFilter for what the earlier cycles counted: the watermark,
  // then the ranges below it not counted (the ledger's gaps and the sweep's, sorted). Between
  // Read() and Commit(), that is the state the read started from.
  std::vector<std::string> CountedParams() const;
  // Returns the ids of a jump of the sequence that are not tracked as gaps (see
  // kMinTrackedGapIds); with the sweep they are swept instead.
  std::int64_t Commit(const NewRows& rows, SteadyTime now, Duration late_commit_window);

 private:
  CounterLedger FreshLedger() const;

  TableSpec spec_;
  CounterLedger ledger_{{Merge::kSum}};
  std::optional<SweepPace> pace_;  // set: released ranges are swept
  GapSweep sweep_;
};

}  // namespace outcomes
