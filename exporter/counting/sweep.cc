#include "exporter/counting/sweep.h"

#include <algorithm>
#include <limits>

namespace outcomes {

std::int64_t GapSweep::Add(std::vector<IdRange> ranges) {
  std::erase_if(ranges, [](const IdRange& range) { return range.first > range.last; });
  if (ranges.empty()) return 0;
  ranges_.insert(ranges_.end(), ranges.begin(), ranges.end());
  std::sort(ranges_.begin(), ranges_.end(),
            [](const IdRange& a, const IdRange& b) { return a.first < b.first; });
  if (ranges_.size() <= kMaxSweptRanges) return 0;
  // The lowest ids are the oldest: a transaction still open after them is given up.
  const auto excess = static_cast<std::ptrdiff_t>(ranges_.size() - kMaxSweptRanges);
  std::int64_t given_up = 0;
  for (auto it = ranges_.begin(); it != ranges_.begin() + excess; ++it) {
    given_up += it->last - it->first + 1;
  }
  ranges_.erase(ranges_.begin(), ranges_.begin() + excess);
  return given_up;
}

void GapSweep::Clear() {
  ranges_.clear();
  next_id_ = 0;
}

std::vector<IdRange> GapSweep::NextBatch(std::size_t max_ranges) const {
  const auto from = std::find_if(ranges_.begin(), ranges_.end(),
                                 [&](const IdRange& range) { return range.last >= next_id_; });
  const auto count = std::min<std::size_t>(max_ranges, ranges_.end() - from);
  return {from, from + static_cast<std::ptrdiff_t>(count)};
}

bool GapSweep::Done(const std::vector<IdRange>& batch, const std::vector<std::int64_t>& found_ids) {
  for (const std::int64_t id : found_ids) Remove(id);
  if (!batch.empty()) next_id_ = batch.back().last + 1;
  const bool at_end = std::none_of(ranges_.begin(), ranges_.end(),
                                   [&](const IdRange& range) { return range.last >= next_id_; });
  if (at_end) next_id_ = 0;
  return at_end;
}

void GapSweep::Remove(std::int64_t id) {
  // The last range starting at or below `id`, if it holds it.
  auto it = std::upper_bound(
      ranges_.begin(), ranges_.end(), id,
      [](std::int64_t value, const IdRange& range) { return value < range.first; });
  if (it == ranges_.begin()) return;
  --it;
  if (id > it->last) return;
  const IdRange range = *it;
  const auto position = ranges_.erase(it);
  std::vector<IdRange> pieces;
  if (range.first < id) pieces.push_back({range.first, id - 1});
  if (id < range.last) pieces.push_back({id + 1, range.last});
  ranges_.insert(position, pieces.begin(), pieces.end());
}

std::int64_t GapSweep::ids() const {
  std::int64_t total = 0;
  for (const IdRange& range : ranges_) total += range.last - range.first + 1;
  return total;
}

double GapSweep::progress() const {
  if (ranges_.empty()) return 1.0;
  const auto done = std::count_if(ranges_.begin(), ranges_.end(),
                                  [&](const IdRange& range) { return range.last < next_id_; });
  return static_cast<double>(done) / static_cast<double>(ranges_.size());
}

std::size_t SweepBatchSize(std::size_t ranges, Duration interval, Duration reconcile_interval,
                           std::size_t bound) {
  const auto cycles = std::max<std::int64_t>(1, reconcile_interval / interval);
  const auto per_cycle =
      (ranges + static_cast<std::size_t>(cycles) - 1) / static_cast<std::size_t>(cycles);
  return std::clamp<std::size_t>(per_cycle, 1, std::max<std::size_t>(bound, 1));
}

Duration SweepPeriod(std::size_t ranges, Duration interval, Duration reconcile_interval,
                     std::size_t bound) {
  const std::size_t batch = SweepBatchSize(ranges, interval, reconcile_interval, bound);
  const std::size_t cycles = std::max<std::size_t>(1, (ranges + batch - 1) / batch);
  return interval * static_cast<std::int64_t>(cycles);
}

Result<SweepStep> SweepOnce(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger,
                            GapSweep& sweep, std::size_t batch_size) {
  const std::vector<IdRange> batch = sweep.NextBatch(batch_size);
  Result<std::vector<std::int64_t>> found =
      ReadVisibleIds(reader, spec, spec.table + "_sweep_ids", batch);
  if (!found.ok()) return found.status();
  Result<std::vector<AggregateRow>> rows =
      ReadRowsWithIds(reader, spec, "_sweep_rows", found.value());
  if (!rows.ok()) return rows.status();
  SweepStep step;
  step.rows_found = ledger.ApplyFound(rows.value());
  step.pass_done = sweep.Done(batch, found.value());
  return step;
}

std::vector<IdRange> MissingRanges(const CounterLedger& ledger, const GapSweep& sweep) {
  std::vector<IdRange> ranges = ledger.gaps();
  const std::vector<IdRange> swept = AllRanges(sweep);
  ranges.insert(ranges.end(), swept.begin(), swept.end());
  std::sort(ranges.begin(), ranges.end(),
            [](const IdRange& a, const IdRange& b) { return a.first < b.first; });
  return ranges;
}

std::vector<IdRange> AllRanges(GapSweep sweep) {
  // Moving a copy to the end of its pass makes the next batch start at the lowest id.
  constexpr std::size_t kEvery = std::numeric_limits<std::size_t>::max();
  sweep.Done(sweep.NextBatch(kEvery), {});
  return sweep.NextBatch(kEvery);
}

}  // namespace outcomes
