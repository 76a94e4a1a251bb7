#include "exporter/collectors/store_startup.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <thread>

namespace outcomes {

std::vector<IdRange> StartupRanges(std::int64_t top) {
  std::vector<IdRange> ranges;
  if (top < 1) return ranges;
  const auto count = std::clamp<std::int64_t>(top / kStartupRangeIds, 1,
                                              static_cast<std::int64_t>(kStartupRangesPerTable));
  const std::int64_t width = (top + count - 1) / count;
  for (std::int64_t first = 1; first <= top; first += width) {
    // The first range also takes any ids below 1, which no sequence hands out.
    const std::int64_t from = first == 1 ? std::numeric_limits<std::int64_t>::min() + 1 : first;
    ranges.push_back({from, std::min(top, first + width - 1)});
  }
  return ranges;
}

bool IsSnapshotId(const std::string& text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '-';
  });
}

std::unique_ptr<StoreSession> ParallelCount::Open() {
  std::unique_ptr<StoreSession> session = make_session_(options_);
  const std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_) return nullptr;
  active_.push_back(session.get());
  return session;
}

void ParallelCount::Close(StoreSession* session) {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::erase(active_, session);
}

void ParallelCount::Cancel() {
  const std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  for (StoreSession* session : active_) session->Cancel();
  changed_.notify_all();
}

Status ParallelCount::PlanJobs(SnapshotReader& reader, const std::vector<TableSpec>& specs) {
  RunState state;
  state.counts.resize(specs.size());
  state.counts_left.assign(specs.size(), 0);
  for (std::size_t table = 0; table < specs.size(); ++table) {
    const TableSpec& spec = specs[table];
    Result<std::vector<Row>> top = reader.Query(spec.table + "_max_id", store_sql::MaxId(spec), {});
    if (!top.ok()) return top.status();
    const std::optional<std::string>& cell = top.value().at(0).at(0);
    state.counts[table].watermark = cell ? std::stoll(*cell) : 0;
  }
  for (std::size_t table = 0; table < specs.size(); ++table) {
    if (state.counts[table].watermark < 1) continue;  // nothing to count
    std::int64_t split = state.counts[table].watermark;
    if (!specs[table].referenced_table.empty()) {
      const auto referenced = std::find_if(specs.begin(), specs.end(), [&](const TableSpec& spec) {
        return spec.table == specs[table].referenced_table;
      });
      if (referenced == specs.end()) {
        return Status::Error(specs[table].table + " references " + specs[table].referenced_table +
                             ", which is not counted");
      }
      split = state.counts[static_cast<std::size_t>(referenced - specs.begin())].watermark;
    }
    for (const IdRange& range : StartupRanges(split)) {
      state.jobs.push_back({table, range, false});
      ++state.counts_left[table];
      ++state.all_counts_left;
    }
  }
  // The largest table's ranges first, so that no session is left with a long tail.
  std::stable_sort(state.jobs.begin(), state.jobs.end(), [&](const Job& a, const Job& b) {
    return state.counts[a.table].watermark > state.counts[b.table].watermark;
  });
  const std::lock_guard<std::mutex> lock(mutex_);
  state_ = std::move(state);
  return Status::Ok();
}

void ParallelCount::AddGapJobs(std::size_t table) {
  TableCount& count = state_.counts[table];
  std::int64_t held = 0;
  for (const AggregateRow& row : count.totals) held += row.values.at(0);
  if (held >= count.watermark) return;  // ids start at 1: none is missing
  for (const IdRange& range : StartupRanges(count.watermark)) {
    state_.jobs.push_back({table, range, true});
  }
}

Status ParallelCount::RunJob(SnapshotReader& reader, const TableSpec& spec, const Job& job) {
  if (job.gaps) {
    // Sequence ids start at 1: only ids from 1 on can be missing.
    Result<std::vector<IdRange>> gaps =
        ReadGaps(reader, spec, "_start_gaps", std::max<std::int64_t>(job.range.first - 1, 0),
                 job.range.last);
    if (!gaps.ok()) return gaps.status();
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<IdRange>& into = state_.counts[job.table].gaps;
    into.insert(into.end(), gaps.value().begin(), gaps.value().end());
    return Status::Ok();
  }
  Result<std::vector<AggregateRow>> rows =
      spec.referenced_table.empty()
          ? ReadRowsInRange(reader, spec, "_start_rows", job.range.first - 1, job.range.last)
          : ReadRowsReferencingRange(reader, spec, "_start_rows", job.range.first - 1,
                                     job.range.last);
  if (!rows.ok()) return rows.status();
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<AggregateRow>& into = state_.counts[job.table].totals;
  into.insert(into.end(), rows.value().begin(), rows.value().end());
  --state_.all_counts_left;
  if (--state_.counts_left[job.table] == 0) AddGapJobs(job.table);
  changed_.notify_all();
  return Status::Ok();
}

Status ParallelCount::Work(SnapshotReader& reader, const std::vector<TableSpec>& specs) {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // A count still running may add gap jobs when it ends.
      changed_.wait(lock, [this] {
        return !failure_.ok() || cancelled_ || state_.next < state_.jobs.size() ||
               state_.all_counts_left == 0;
      });
      if (!failure_.ok() || cancelled_ || state_.next >= state_.jobs.size()) return failure_;
      job = state_.jobs[state_.next++];
    }
    Status status = RunJob(reader, specs[job.table], job);
    if (!status.ok()) {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (failure_.ok()) failure_ = status;
      changed_.notify_all();
      return status;
    }
  }
}

void ParallelCount::Help(const std::vector<TableSpec>& specs, const std::string& snapshot) {
  std::unique_ptr<StoreSession> session = Open();
  if (!session) return;
  // A helper that cannot connect or import only leaves its share to the others; a range it
  // took and could not count fails the run (Work records it).
  if (session->Connect().ok()) {
    static_cast<void>(session->InSnapshot([&](SnapshotReader& reader) {
      Result<std::vector<Row>> imported =
          reader.Query("store_start_import", "SET TRANSACTION SNAPSHOT '" + snapshot + "'", {});
      if (!imported.ok()) return imported.status();
      return Work(reader, specs);
    }));
  }
  Close(session.get());
}

Status ParallelCount::Lead(StoreSession& session, const std::vector<TableSpec>& specs, bool share,
                           bool& export_failed) {
  return session.InSnapshot([&](SnapshotReader& reader) {
    Status status = PlanJobs(reader, specs);
    if (!status.ok()) return status;
    std::string snapshot;
    if (share) {
      Result<std::vector<Row>> exported =
          reader.Query("store_start_snapshot", "SELECT pg_export_snapshot()", {});
      if (exported.ok() && !exported.value().empty() && exported.value()[0].at(0)) {
        snapshot = *exported.value()[0].at(0);
      }
      if (!IsSnapshotId(snapshot)) {
        export_failed = true;
        return exported.ok() ? Status::Error("pg_export_snapshot(): no snapshot id")
                             : exported.status();
      }
    }
    std::size_t helpers = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      helpers = share ? std::min(kStartupSessions, state_.jobs.size()) : 1;
    }
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < helpers; ++i) {
      threads.emplace_back([&] { Help(specs, snapshot); });
    }
    status = Work(reader, specs);
    // This transaction holds the exported snapshot: it ends only after every helper did.
    for (std::thread& thread : threads) thread.join();
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.ok()) return failure_;
    if (cancelled_) return Status::Error("cancelled");
    return status;
  });
}

Result<std::vector<TableCount>> ParallelCount::Run(const std::vector<TableSpec>& specs) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    state_ = RunState{};
    failure_ = Status::Ok();
    cancelled_ = false;
  }
  std::unique_ptr<StoreSession> leader = Open();
  if (!leader) return Status::Error("cancelled");
  Status status = leader->Connect();
  bool export_failed = false;
  if (status.ok()) status = Lead(*leader, specs, true, export_failed);
  if (!status.ok() && export_failed) {
    // A store that cannot export snapshots (an old or restricted server): one session counts
    // every range in its own snapshot.
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      failure_ = Status::Ok();
    }
    export_failed = false;
    status = Lead(*leader, specs, false, export_failed);
  }
  Close(leader.get());
  if (!status.ok()) return status;
  const std::lock_guard<std::mutex> lock(mutex_);
  for (TableCount& count : state_.counts) {
    std::sort(count.gaps.begin(), count.gaps.end(),
              [](const IdRange& a, const IdRange& b) { return a.first < b.first; });
  }
  return std::move(state_.counts);
}

}  // namespace outcomes
