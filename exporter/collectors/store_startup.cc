#include "exporter/collectors/store_startup.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <system_error>
#include <thread>
#include <utility>

namespace outcomes {

std::vector<IdRange> StartupRanges(std::int64_t top, std::int64_t rows) {
  std::vector<IdRange> ranges;
  if (top < 1) return ranges;
  const auto count = std::clamp<std::int64_t>(rows / kStartupRangeIds, 1,
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

Status ParallelCount::export_error() {
  const std::lock_guard<std::mutex> lock(mutex_);
  return export_error_;
}

bool ParallelCount::Cancelled() {
  const std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
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
      // At least one range, from the lowest id on: rows may reference ids below 1.
      split = std::max<std::int64_t>(
          1, state.counts[static_cast<std::size_t>(referenced - specs.begin())].watermark);
    }
    // A range reads its part of both tables: the larger one sets how many ranges.
    const std::int64_t rows = std::max(split, state.counts[table].watermark);
    for (const IdRange& range : StartupRanges(split, rows)) {
      state.jobs.push_back({table, range, false});
      ++state.counts_left[table];
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

void ParallelCount::AddGapJobs(RunState& state, std::size_t table) {
  TableCount& count = state.counts[table];
  std::int64_t held = 0;
  for (const AggregateRow& row : count.totals) held += row.values.at(0);
  if (held >= count.watermark) return;  // ids start at 1: none is missing
  for (const IdRange& range : StartupRanges(count.watermark)) {
    state.jobs.push_back({table, range, true});
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
    ++state_.done;
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
  ++state_.done;
  if (--state_.counts_left[job.table] == 0) AddGapJobs(state_, job.table);
  return Status::Ok();
}

Status ParallelCount::Work(SnapshotReader& reader, const std::vector<TableSpec>& specs) {
  // No session waits in its transaction for another's range: the one that counts a table's
  // last range adds its gap jobs and takes them itself if no one else does.
  while (true) {
    Job job;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_.ok() || cancelled_ || state_.next >= state_.jobs.size()) return failure_;
      job = state_.jobs[state_.next++];
    }
    Status status = RunJob(reader, specs[job.table], job);
    if (!status.ok()) {
      Fail(status);
      return status;
    }
  }
}

void ParallelCount::Imported() {
  const std::lock_guard<std::mutex> lock(mutex_);
  --state_.imports_left;
  changed_.notify_all();
}

void ParallelCount::Help(const std::vector<TableSpec>& specs, const std::string& snapshot) {
  // Once only, however the session retries its snapshot.
  bool imported = false;
  const auto imported_once = [&] {
    if (!std::exchange(imported, true)) Imported();
  };
  std::unique_ptr<StoreSession> session;
  try {
    session = Open();
    // A helper that cannot connect or import only leaves its share to the others; once it
    // imported, any failure fails the run: it may have taken a range.
    if (session && session->Connect().ok()) {
      bool gave_up = false;
      Status status = session->InSnapshot([&](SnapshotReader& reader) {
        Result<std::vector<Row>> set =
            reader.Query("store_start_import", "SET TRANSACTION SNAPSHOT '" + snapshot + "'", {});
        imported_once();
        gave_up = !set.ok();
        if (gave_up) return set.status();
        return Work(reader, specs);
      });
      if (!status.ok() && imported && !gave_up) Fail(status);
    }
  } catch (const std::exception& e) {
    Fail(Status::Error(std::string("first count: ") + e.what()));
  }
  imported_once();
  if (session) Close(session.get());
}

void ParallelCount::Fail(const Status& status) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (failure_.ok()) failure_ = status;
}

Status ParallelCount::Lead(StoreSession& session, const std::vector<TableSpec>& specs, bool share,
                           bool& export_failed, std::vector<std::jthread>& helpers) {
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
      std::size_t sessions = 0;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        sessions = std::min(kStartupSessions, state_.jobs.size());
      }
      for (std::size_t i = 1; i < sessions; ++i) {
        {
          const std::lock_guard<std::mutex> lock(mutex_);
          ++state_.imports_left;
        }
        try {
          helpers.emplace_back([this, &specs, snapshot] { Help(specs, snapshot); });
        } catch (const std::system_error&) {
          Imported();  // no thread to spare: the sessions started count it all
          break;
        }
      }
    }
    status = Work(reader, specs);
    // The exported snapshot lives as long as this transaction: it ends once every helper has
    // imported it or given up, not later, so that it never idles long in a transaction.
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return state_.imports_left == 0; });
    return status;
  });
}

Result<std::vector<TableCount>> ParallelCount::Run(const std::vector<TableSpec>& specs) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    state_ = RunState{};
    failure_ = Status::Ok();
    export_error_ = Status::Ok();
    cancelled_ = false;
  }
  std::unique_ptr<StoreSession> leader = Open();
  if (!leader) return Status::Error("cancelled");
  Status status = leader->Connect();
  bool export_failed = false;
  std::vector<std::jthread> helpers;  // joined however this returns
  if (status.ok()) status = Lead(*leader, specs, true, export_failed, helpers);
  if (!status.ok() && export_failed && !Cancelled()) {
    // A store that cannot export snapshots (an old or restricted server): this session counts
    // every range alone, in one snapshot.
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      failure_ = Status::Ok();
      export_error_ = status;
    }
    status = Lead(*leader, specs, false, export_failed, helpers);
  }
  for (std::jthread& helper : helpers) helper.join();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (status.ok() && !failure_.ok()) status = failure_;
    if (status.ok() && cancelled_) status = Status::Error("cancelled");
    // Every range counted, every gap read: a result short of one would be taken as exact.
    if (status.ok() && state_.done < state_.jobs.size()) {
      status = Status::Error("first count: a range was left unread");
    }
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
