// The store collector's first count, in parallel: each table's ids up to its highest are split
// into ranges, and the ranges are counted on several sessions at once, each range in its own
// snapshot together with the ids missing in it. Every id up to the highest is then either
// counted or a gap, once, so the ledgers start exact although the ranges saw different
// snapshots (see docs/EXACTNESS.md). Cancel() is safe from any thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "exporter/counting/counter_ledger.h"
#include "exporter/counting/incremental.h"
#include "exporter/store/session.h"

namespace outcomes {

// The fewest ids per range of the first count, the most ranges per table, and the sessions
// used for it. Each range of a table that joins recommendations reads all of it (a hash join),
// so every range adds one such read: 10M events in 1, 2 and 3 ranges cost 8.4, 9.8 and 11.7 s
// of database CPU. Two ranges per table and a third session keep two cores busy with the two
// halves of the largest table while the smaller tables are counted beside them.
inline constexpr std::int64_t kStartupRangeIds = 1'000'000;
inline constexpr std::size_t kStartupRangesPerTable = 2;
inline constexpr std::size_t kStartupSessions = 3;

// The ranges of the first count of a table whose highest id is `top`, in id order: up to
// kStartupRangesPerTable while each keeps at least kStartupRangeIds ids, all of one width; the
// first also takes the ids below 1. A narrow last range would cost almost what a full one does
// (see above): there is none.
std::vector<IdRange> StartupRanges(std::int64_t top);

// One table counted from scratch up to `watermark`.
struct TableCount {
  std::int64_t watermark = 0;
  std::vector<AggregateRow> totals;  // one row per range and label set
  std::vector<IdRange> gaps;         // sorted
};

class ParallelCount {
 public:
  using SessionFactory = std::function<std::unique_ptr<StoreSession>(const SessionOptions&)>;
  ParallelCount(SessionFactory make_session, SessionOptions options)
      : make_session_(std::move(make_session)), options_(std::move(options)) {}

  // Counts every table of `specs`; fails when any range fails.
  Result<std::vector<TableCount>> Run(const std::vector<TableSpec>& specs);
  void Cancel();

 private:
  struct Job {
    std::size_t table = 0;
    IdRange range;
  };
  Result<std::vector<std::int64_t>> ReadTops(const std::vector<TableSpec>& specs);
  // Runs jobs from `next` until none is left or one failed.
  void Work(const std::vector<TableSpec>& specs, const std::vector<Job>& jobs,
            std::vector<TableCount>& counts);
  Status CountRange(StoreSession& session, const TableSpec& spec, IdRange range, TableCount& count);
  std::unique_ptr<StoreSession> Open();

  SessionFactory make_session_;
  SessionOptions options_;
  std::mutex mutex_;  // guards everything below
  std::vector<StoreSession*> active_;
  std::size_t next_ = 0;
  Status failure_ = Status::Ok();
  bool cancelled_ = false;
};

}  // namespace outcomes
