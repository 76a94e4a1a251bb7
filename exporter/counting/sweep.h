// The reconciliation sweep of the exact-counting code (store counters, analytics aggregates):
// the ids missing below a table's watermark
// that CounterLedger stopped re-checking every cycle (their gap outlived
// store.late_commit_window, went over the gap cap, or lay past a jump of the sequence) are
// kept here and re-checked in primary-key order, a bounded batch per cycle, so that a
// transaction that commits after any delay is still counted, exactly once, within one sweep
// period. The cost follows the missing ranges, never the table. See docs/EXACTNESS.md.
// Not thread-safe: owned by the collector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/counting/counter_ledger.h"
#include "exporter/counting/incremental.h"
#include "exporter/store/session.h"

namespace outcomes {

// Most ranges kept per table; beyond it the lowest (oldest) ids are given up.
inline constexpr std::size_t kMaxSweptRanges = 100'000;

class GapSweep {
 public:
  // Ranges the ledger released; ids never counted. Returns how many ids the cap gave up.
  std::int64_t Add(std::vector<IdRange> ranges);
  // Forgets everything (the table was counted from scratch).
  void Clear();

  // The next ranges to re-check, in id order from where the last batch ended.
  std::vector<IdRange> NextBatch(std::size_t max_ranges) const;
  // The batch was read in one snapshot and `found_ids` (inside it) are now counted: they
  // leave the ranges and the sweep moves past the batch. Returns true when that ended a pass.
  bool Done(const std::vector<IdRange>& batch, const std::vector<std::int64_t>& found_ids);

  std::size_t ranges() const { return ranges_.size(); }
  std::int64_t ids() const;
  // Share of the ranges already re-checked in the current pass, 0 to 1.
  double progress() const;

 private:
  void Remove(std::int64_t id);

  std::vector<IdRange> ranges_;  // sorted by first, disjoint
  std::int64_t next_id_ = 0;     // the current pass re-checks the ranges ending at or after it
};

// How many ranges a cycle re-checks: a pass per `reconcile_interval` at `interval` cycles,
// at least one range, at most `bound`.
std::size_t SweepBatchSize(std::size_t ranges, Duration interval, Duration reconcile_interval,
                           std::size_t bound);

// How long a pass takes at that pace.
Duration SweepPeriod(std::size_t ranges, Duration interval, Duration reconcile_interval,
                     std::size_t bound);

struct SweepStep {
  std::int64_t rows_found = 0;  // rows of late commits counted by this step
  bool pass_done = false;
};

// Re-checks the next batch of `sweep` in the snapshot (statements "<table>_sweep_ids" and
// "<table>_sweep_rows", through the primary key) and adds what it finds to `ledger`.
Result<SweepStep> SweepOnce(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger,
                            GapSweep& sweep, std::size_t batch_size);

// The ranges at or below the watermark not counted yet: the ledger's gaps and the sweep's,
// sorted by first id.
std::vector<IdRange> MissingRanges(const CounterLedger& ledger, const GapSweep& sweep);
// Every range of `sweep`, from the lowest id.
std::vector<IdRange> AllRanges(GapSweep sweep);

}  // namespace outcomes
