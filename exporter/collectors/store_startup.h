// The store collector's first count, in parallel and in one snapshot: one session reads each
// table's highest id and exports its snapshot (pg_export_snapshot), the others import it, and
// all of them count ranges of ids until none is left. Every id up to a table's highest is then
// either counted or, read in the same snapshot, a gap: the ledgers start exact (see
// docs/EXACTNESS.md). A table counted through the recommendation its rows reference is split
// by the recommendations' ids, so that each range joins only its part of both tables, in id
// order through the indexes (a merge join), instead of hashing every recommendation once per
// range. When the store cannot export a snapshot, one session counts everything alone.
// Cancel() is safe from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "exporter/counting/counter_ledger.h"
#include "exporter/counting/incremental.h"
#include "exporter/store/session.h"

namespace outcomes {

// The fewest rows per range of the first count (about: a table's highest id stands for its
// rows), the most ranges per table, and the sessions used for it. Two ranges per table and a
// third session keep two cores busy with the two halves of the largest table while the smaller
// tables are counted beside them; a range of fewer rows would cost more in statements and
// index descents than it spreads.
inline constexpr std::int64_t kStartupRangeIds = 1'000'000;
inline constexpr std::size_t kStartupRangesPerTable = 2;
inline constexpr std::size_t kStartupSessions = 3;

// The ranges, in id order and all of one width, that split the ids up to `top` for a table of
// about `rows` rows: as many as kStartupRangesPerTable while each keeps at least
// kStartupRangeIds of the rows. The first also takes the ids below 1. A table counted through
// the recommendations it references splits their ids by the larger of the two tables: a range
// reads its part of both (and a range over all of them is planned as a hash join instead).
std::vector<IdRange> StartupRanges(std::int64_t top, std::int64_t rows);
inline std::vector<IdRange> StartupRanges(std::int64_t top) { return StartupRanges(top, top); }

// One table counted from scratch up to `watermark`.
struct TableCount {
  std::int64_t watermark = 0;
  std::vector<AggregateRow> totals;  // one row per range and label set
  std::vector<IdRange> gaps;         // sorted
};

// A snapshot id as pg_export_snapshot() returns it (hex digits and dashes), so that it may be
// written into SET TRANSACTION SNAPSHOT, which takes no parameters.
bool IsSnapshotId(const std::string& text);

class ParallelCount {
 public:
  using SessionFactory = std::function<std::unique_ptr<StoreSession>(const SessionOptions&)>;
  ParallelCount(SessionFactory make_session, SessionOptions options)
      : make_session_(std::move(make_session)), options_(std::move(options)) {}

  // Counts every table of `specs`; fails when any range fails.
  Result<std::vector<TableCount>> Run(const std::vector<TableSpec>& specs);
  void Cancel();
  // Why the last Run could not share its snapshot (and counted on one session); Ok if it did.
  Status export_error();

 private:
  struct Job {
    std::size_t table = 0;
    IdRange range;
    bool gaps = false;  // reads the ids missing in the range instead of counting it
  };
  // Everything one run shares between its sessions; guarded by mutex_.
  struct RunState {
    std::vector<TableCount> counts;
    std::vector<Job> jobs;
    std::size_t next = 0;                  // the next job to take
    std::size_t done = 0;                  // jobs read to the end
    std::vector<std::size_t> counts_left;  // per table: count jobs not yet finished
    std::size_t imports_left = 0;          // helpers started that have not imported or given up yet
  };

  // The session that reads the tops and, with `share`, exports its snapshot for helpers it
  // starts into `helpers` (the caller joins them). `export_failed` tells that the store
  // refused to export.
  Status Lead(StoreSession& session, const std::vector<TableSpec>& specs, bool share,
              bool& export_failed, std::vector<std::jthread>& helpers);
  void Help(const std::vector<TableSpec>& specs, const std::string& snapshot);
  void Imported();
  void Fail(const Status& status);  // keeps the first failure
  bool Cancelled();
  Status PlanJobs(SnapshotReader& reader, const std::vector<TableSpec>& specs);
  // Runs jobs until none is left or one failed.
  Status Work(SnapshotReader& reader, const std::vector<TableSpec>& specs);
  Status RunJob(SnapshotReader& reader, const TableSpec& spec, const Job& job);
  // Once a table's ranges are counted: gap jobs when its rows do not fill its ids.
  static void AddGapJobs(RunState& state, std::size_t table);
  std::unique_ptr<StoreSession> Open();
  void Close(StoreSession* session);

  SessionFactory make_session_;
  SessionOptions options_;
  std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  std::vector<StoreSession*> active_;
  RunState state_;
  Status failure_ = Status::Ok();
  Status export_error_ = Status::Ok();
  bool cancelled_ = false;
};

}  // namespace outcomes
