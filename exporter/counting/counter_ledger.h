// CounterLedger: exact, monotonic counters over an append-only table keyed by a bigint id.
//
// The ledger remembers a watermark (the highest id counted) and the id ranges below it that
// were missing when read (gaps). Each cycle the caller reads, in ONE database snapshot, the rows
// past the watermark, the new gaps among them, and which old gaps have since appeared, and
// applies them here. An id is therefore added exactly once: either as it passes the watermark,
// or when its gap is found. Gaps are re-checked for `late_commit_window`; after that the
// periodic full recount (ApplyFullCount) is the backstop that adds anything still missing.
// See docs/EXACTNESS.md for the full argument. Not thread-safe: owned by one collector.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "exporter/core/duration.h"

namespace outcomes {

using LabelValues = std::vector<std::string>;
using SteadyTime = std::chrono::steady_clock::time_point;

// How a value column combines: counts and sums add up, timestamps keep the maximum.
enum class Merge { kSum, kMax };

struct AggregateRow {
  LabelValues labels;
  std::vector<std::int64_t> values;
};

struct IdRange {
  std::int64_t first = 0;  // inclusive
  std::int64_t last = 0;   // inclusive
  bool operator==(const IdRange&) const = default;
};

// What one incremental read of one snapshot saw.
struct IncrementBatch {
  std::int64_t new_watermark = 0;       // highest id visible; >= the old watermark
  std::vector<IdRange> new_gaps;        // ids missing in (old watermark, new_watermark]
  std::vector<std::int64_t> found_ids;  // ids of old gaps that are visible now
  std::vector<AggregateRow> rows;       // aggregate of the new rows plus the found ids
};

struct FullCountReport {
  std::int64_t rows_added = 0;     // rows the recount found that increments had missed
  std::int64_t rows_deleted = 0;   // rows counted before that the store no longer holds
  std::int64_t ids_skipped = 0;    // ids of jumps past the watermark, not tracked as gaps
  bool rebased = false;            // the store went back below the watermark (see Rebase)
  std::int64_t old_watermark = 0;  // when rebased: the watermark before
  std::int64_t new_watermark = 0;  // when rebased: the table's highest id
};

// The fewest ids one gap is tracked for. A wider gap than ids were handed out during one
// late-commit window (at least this many) is a jump of the id sequence, not transactions in
// flight: only its first ids, those taken before the jump, are re-checked.
inline constexpr std::int64_t kMinTrackedGapIds = 100'000;

class CounterLedger {
 public:
  // `merges` has one entry per value column; column 0 must be the row count (kSum).
  explicit CounterLedger(std::vector<Merge> merges);

  // True once the first full count has been applied.
  bool initialized() const { return initialized_; }
  std::int64_t watermark() const { return watermark_; }
  std::vector<IdRange> gaps() const;
  // Number of ids inside the tracked gaps.
  std::int64_t pending_ids() const;
  const std::map<LabelValues, std::vector<std::int64_t>>& values() const { return values_; }
  // Total rows added by full counts since the start: late commits that increments missed.
  std::int64_t corrections() const { return corrections_; }

  // Applies an incremental read. Requires initialized(). Returns how many ids of new gaps
  // were too many to track (see kMinTrackedGapIds).
  std::int64_t ApplyIncrement(const IncrementBatch& batch, SteadyTime now);

  // Applies a full recount read in the same snapshot as the increment just applied (or, on the
  // first call, as `watermark` and `recent_gaps`). Counters only grow: a label set whose
  // recount is below the counters is taken as deleted rows (retention), remembered, so that
  // later recounts still find rows that are missing.
  FullCountReport ApplyFullCount(const std::vector<AggregateRow>& totals, SteadyTime now,
                                 std::int64_t watermark = 0,
                                 const std::vector<IdRange>& recent_gaps = {});

  // Starts over from a store that went back below the watermark (an older backup restored,
  // the newest rows deleted): `totals`, `watermark` and `recent_gaps` as for the first full
  // count. Counters never go down: what the store holds becomes the baseline, the counted rows
  // it no longer holds count as deleted, and rows of label sets it holds more of than were
  // counted are added.
  FullCountReport Rebase(const std::vector<AggregateRow>& totals, SteadyTime now,
                         std::int64_t watermark, const std::vector<IdRange>& recent_gaps);

  // Stops re-checking gaps first seen more than `window` ago; returns how many ids that was.
  // `window` is also how far back the ids handed out are remembered (see kMinTrackedGapIds).
  std::int64_t ExpireGaps(SteadyTime now, Duration window);

  // Caps the tracked gap ranges (oldest dropped first); returns how many ids were dropped.
  std::int64_t LimitGaps(std::size_t max_ranges);

  // From now on, the gap ranges the ledger stops re-checking (expired, over the cap, the ids of
  // a jump beyond the tracked width) are kept for TakeReleasedGaps() instead of forgotten.
  void KeepReleasedGaps() { keep_released_ = true; }
  // Stops re-checking the ids of the gaps below `id` (they are released).
  void ReleaseGapsBelow(std::int64_t id);
  // The ranges released since the last call, for the caller to re-check at its own pace.
  std::vector<IdRange> TakeReleasedGaps() { return std::exchange(released_, {}); }
  // Adds rows found in released ranges (late commits no gap re-check saw); they count as
  // corrections. Returns how many rows that was.
  std::int64_t ApplyFound(const std::vector<AggregateRow>& rows);

 private:
  struct Gap {
    IdRange range;
    SteadyTime first_seen;
  };

  void Add(const AggregateRow& row);
  void RemoveFromGaps(std::int64_t id);
  void TrackInitialGaps(const std::vector<IdRange>& recent_gaps, std::int64_t watermark,
                        SteadyTime now);
  // How many ids of one new gap are tracked: the ids handed out during the last window.
  std::int64_t TrackedGapWidth() const;

  std::vector<Merge> merges_;
  bool initialized_ = false;
  std::int64_t watermark_ = 0;
  std::vector<Gap> gaps_;  // sorted by range.first, disjoint
  std::map<LabelValues, std::vector<std::int64_t>> values_;
  // Per label set, what the store lost to deletions, so that counted == store + deleted.
  std::map<LabelValues, std::vector<std::int64_t>> deleted_;
  std::int64_t corrections_ = 0;
  bool keep_released_ = false;
  std::vector<IdRange> released_;
  // Ids the watermark moved past per increment (jumps excluded), for TrackedGapWidth().
  std::deque<std::pair<SteadyTime, std::int64_t>> advances_;
};

}  // namespace outcomes
