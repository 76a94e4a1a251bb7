#include "exporter/collectors/store_startup.h"

#include <algorithm>
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

std::unique_ptr<StoreSession> ParallelCount::Open() {
  std::unique_ptr<StoreSession> session = make_session_(options_);
  const std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_) return nullptr;
  active_.push_back(session.get());
  return session;
}

void ParallelCount::Cancel() {
  const std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  for (StoreSession* session : active_) session->Cancel();
}

Result<std::vector<std::int64_t>> ParallelCount::ReadTops(const std::vector<TableSpec>& specs) {
  std::unique_ptr<StoreSession> session = Open();
  if (!session) return Status::Error("cancelled");
  Status status = session->Connect();
  std::vector<std::int64_t> tops;
  if (status.ok()) {
    status = session->InSnapshot([&](SnapshotReader& reader) {
      for (const TableSpec& spec : specs) {
        Result<std::vector<Row>> top =
            reader.Query(spec.table + "_max_id", store_sql::MaxId(spec), {});
        if (!top.ok()) return top.status();
        const std::optional<std::string>& cell = top.value().at(0).at(0);
        tops.push_back(cell ? std::stoll(*cell) : 0);
      }
      return Status::Ok();
    });
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  std::erase(active_, session.get());
  if (!status.ok()) return status;
  return tops;
}

Status ParallelCount::CountRange(StoreSession& session, const TableSpec& spec, IdRange range,
                                 TableCount& count) {
  std::vector<AggregateRow> totals;
  std::vector<IdRange> gaps;
  Status status = session.InSnapshot([&](SnapshotReader& reader) {
    Result<std::vector<AggregateRow>> rows =
        ReadRowsInRange(reader, spec, "_start_rows", range.first - 1, range.last);
    if (!rows.ok()) return rows.status();
    totals = std::move(rows).value();
    // Sequence ids start at 1: only ids from 1 on can be missing.
    const std::int64_t gaps_from = std::max<std::int64_t>(range.first - 1, 0);
    std::int64_t held = 0;
    for (const AggregateRow& row : totals) held += row.values.at(0);
    if (held >= range.last - gaps_from) return Status::Ok();  // no id missing
    Result<std::vector<IdRange>> missing =
        ReadGaps(reader, spec, "_start_gaps", gaps_from, range.last);
    if (!missing.ok()) return missing.status();
    gaps = std::move(missing).value();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  const std::lock_guard<std::mutex> lock(mutex_);
  count.totals.insert(count.totals.end(), totals.begin(), totals.end());
  count.gaps.insert(count.gaps.end(), gaps.begin(), gaps.end());
  return Status::Ok();
}

void ParallelCount::Work(const std::vector<TableSpec>& specs, const std::vector<Job>& jobs,
                         std::vector<TableCount>& counts) {
  std::unique_ptr<StoreSession> session = Open();
  Status status = session ? session->Connect() : Status::Error("cancelled");
  while (status.ok()) {
    std::size_t job = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (next_ >= jobs.size() || !failure_.ok()) break;
      job = next_++;
    }
    const Job& todo = jobs[job];
    status = CountRange(*session, specs[todo.table], todo.range, counts[todo.table]);
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!status.ok() && failure_.ok()) failure_ = status;
  if (session) std::erase(active_, session.get());
}

Result<std::vector<TableCount>> ParallelCount::Run(const std::vector<TableSpec>& specs) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    next_ = 0;
    failure_ = Status::Ok();
    cancelled_ = false;
  }
  Result<std::vector<std::int64_t>> tops = ReadTops(specs);
  if (!tops.ok()) return tops.status();
  std::vector<TableCount> counts(specs.size());
  std::vector<Job> jobs;
  for (std::size_t table = 0; table < specs.size(); ++table) {
    counts[table].watermark = tops.value()[table];
    for (const IdRange& range : StartupRanges(counts[table].watermark)) {
      jobs.push_back({table, range});
    }
  }
  // The largest table's ranges first, so that no session is left with a long tail.
  std::stable_sort(jobs.begin(), jobs.end(), [&](const Job& a, const Job& b) {
    return counts[a.table].watermark > counts[b.table].watermark;
  });
  std::vector<std::thread> workers;
  const std::size_t sessions = std::min(kStartupSessions, std::max<std::size_t>(1, jobs.size()));
  for (std::size_t i = 0; i < sessions; ++i) {
    workers.emplace_back([&] { Work(specs, jobs, counts); });
  }
  for (std::thread& worker : workers) worker.join();
  if (!failure_.ok()) return failure_;
  for (TableCount& count : counts) {
    std::sort(count.gaps.begin(), count.gaps.end(),
              [](const IdRange& a, const IdRange& b) { return a.first < b.first; });
  }
  return counts;
}

}  // namespace outcomes
