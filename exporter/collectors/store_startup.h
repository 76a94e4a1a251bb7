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

// The fewest ids per range of the first count, the most ranges per table, and the sessions
// used for it. Two ranges per table and a third session keep two cores busy with the two
// halves of the largest table while the smaller tables are counted beside them.
inline constexpr std::int64_t kStartupRangeIds = 1'000'000;
inline constexpr std::size_t kStartupRangesPerTable = 2;
inline constexpr std::size_t kStartupSessions = 3;

// The ranges of the first count of a table whose highest id is `top`, in id order: up to
// kStartupRangesPerTable while each keeps at least kStartupRangeIds ids, all of one width; the
// first also takes the ids below 1. A narrow last range would cost almost what a full one does
// (each reads its part of the indexes from the range's start): there is none.
std::vector<IdRange> StartupRanges(std::int64_t top);

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
    std::size_t next = 0;
    std::vector<std::size_t> counts_left;  // per table: count jobs not yet finished
    std::size_t imports_left = 0;          // helpers started that have not imported or given up yet
  };

  // The session that reads the tops and, with `share`, exports its snapshot for helpers it
  // starts into `helpers` (the caller joins them). `export_failed` tells that the store
  // refused to export.
  Status Lead(StoreSession& session, const std::vector<TableSpec>& specs, bool share,
              bool& export_failed, std::vector<std::thread>& helpers);
  void Help(const std::vector<TableSpec>& specs, const std::string& snapshot);
  void Imported();
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
  bool cancelled_ = false;
};

}  // namespace outcomes
