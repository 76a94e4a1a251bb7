#include "exporter/counting/counter_ledger.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace outcomes {

CounterLedger::CounterLedger(std::vector<Merge> merges) : merges_(std::move(merges)) {
  assert(!merges_.empty() && merges_[0] == Merge::kSum);
}

std::vector<IdRange> CounterLedger::gaps() const {
  std::vector<IdRange> out;
  out.reserve(gaps_.size());
  for (const Gap& gap : gaps_) out.push_back(gap.range);
  return out;
}

std::int64_t CounterLedger::pending_ids() const {
  std::int64_t total = 0;
  for (const Gap& gap : gaps_) total += gap.range.last - gap.range.first + 1;
  return total;
}

void CounterLedger::Add(const AggregateRow& row) {
  std::vector<std::int64_t>& current = values_[row.labels];
  current.resize(merges_.size(), 0);
  for (std::size_t i = 0; i < merges_.size() && i < row.values.size(); ++i) {
    if (merges_[i] == Merge::kSum) {
      current[i] += row.values[i];
    } else {
      current[i] = std::max(current[i], row.values[i]);
    }
  }
}

void CounterLedger::RemoveFromGaps(std::int64_t id) {
  const auto it = std::find_if(gaps_.begin(), gaps_.end(), [id](const Gap& gap) {
    return gap.range.first <= id && id <= gap.range.last;
  });
  if (it == gaps_.end()) return;
  const Gap gap = *it;
  const auto position = gaps_.erase(it);
  std::vector<Gap> pieces;
  if (gap.range.first < id) pieces.push_back({{gap.range.first, id - 1}, gap.first_seen});
  if (id < gap.range.last) pieces.push_back({{id + 1, gap.range.last}, gap.first_seen});
  gaps_.insert(position, pieces.begin(), pieces.end());
}

std::int64_t CounterLedger::TrackedGapWidth() const {
  std::int64_t handed_out = 0;
  for (const auto& [when, ids] : advances_) handed_out += ids;
  return std::max(kMinTrackedGapIds, handed_out);
}

std::int64_t CounterLedger::ApplyIncrement(const IncrementBatch& batch, SteadyTime now) {
  assert(initialized_);
  for (const std::int64_t id : batch.found_ids) RemoveFromGaps(id);
  const std::int64_t widest = TrackedGapWidth();
  std::int64_t skipped = 0;
  for (IdRange range : batch.new_gaps) {
    // Only ranges above the old watermark are new; anything else would be a reader bug.
    if (range.first <= watermark_ || range.last > batch.new_watermark || range.first > range.last) {
      continue;
    }
    const std::int64_t width = range.last - range.first + 1;
    if (width > widest) {
      skipped += width - widest;
      if (keep_released_) released_.push_back({range.first + widest, range.last});
      range.last = range.first + widest - 1;
    }
    gaps_.push_back({range, now});
  }
  std::sort(gaps_.begin(), gaps_.end(),
            [](const Gap& a, const Gap& b) { return a.range.first < b.range.first; });
  for (const AggregateRow& row : batch.rows) Add(row);
  if (batch.new_watermark > watermark_) {
    advances_.emplace_back(now, batch.new_watermark - watermark_ - skipped);
  }
  watermark_ = std::max(watermark_, batch.new_watermark);
  return skipped;
}

void CounterLedger::TrackInitialGaps(const std::vector<IdRange>& recent_gaps,
                                     std::int64_t watermark, SteadyTime now) {
  gaps_.clear();
  for (const IdRange& range : recent_gaps) {
    if (range.first <= range.last && range.last <= watermark) gaps_.push_back({range, now});
  }
  std::sort(gaps_.begin(), gaps_.end(),
            [](const Gap& a, const Gap& b) { return a.range.first < b.range.first; });
}

FullCountReport CounterLedger::Rebase(const std::vector<AggregateRow>& totals, SteadyTime now,
                                      std::int64_t watermark,
                                      const std::vector<IdRange>& recent_gaps) {
  assert(initialized_);
  FullCountReport report;
  report.rebased = true;
  report.old_watermark = watermark_;
  report.new_watermark = watermark;
  watermark_ = watermark;
  advances_.clear();
  TrackInitialGaps(recent_gaps, watermark, now);
  // Every counted row is deleted until the store shows it again.
  for (auto& [labels, counted] : values_) {
    std::vector<std::int64_t>& deleted = deleted_[labels];
    deleted.assign(merges_.size(), 0);
    for (std::size_t i = 0; i < merges_.size(); ++i) {
      if (merges_[i] == Merge::kSum) deleted[i] = counted[i];
    }
  }
  for (const AggregateRow& row : totals) {
    std::vector<std::int64_t>& counted = values_[row.labels];
    std::vector<std::int64_t>& deleted = deleted_[row.labels];
    counted.resize(merges_.size(), 0);
    deleted.resize(merges_.size(), 0);
    for (std::size_t i = 0; i < merges_.size() && i < row.values.size(); ++i) {
      if (merges_[i] == Merge::kMax) {
        counted[i] = std::max(counted[i], row.values[i]);
      } else if (row.values[i] > counted[i]) {
        if (i == 0) report.rows_added += row.values[i] - counted[i];
        counted[i] = row.values[i];
        deleted[i] = 0;
      } else {
        deleted[i] = counted[i] - row.values[i];
      }
    }
  }
  for (const auto& [labels, deleted] : deleted_) report.rows_deleted += deleted[0];
  return report;
}

FullCountReport CounterLedger::ApplyFullCount(const std::vector<AggregateRow>& totals,
                                              SteadyTime now, std::int64_t watermark,
                                              const std::vector<IdRange>& recent_gaps) {
  FullCountReport report;
  if (!initialized_) {
    initialized_ = true;
    watermark_ = watermark;
    TrackInitialGaps(recent_gaps, watermark, now);
    for (const AggregateRow& row : totals) Add(row);
    return report;
  }

  std::set<LabelValues> seen;
  for (const AggregateRow& row : totals) {
    seen.insert(row.labels);
    std::vector<std::int64_t>& counted = values_[row.labels];
    std::vector<std::int64_t>& deleted = deleted_[row.labels];
    counted.resize(merges_.size(), 0);
    deleted.resize(merges_.size(), 0);
    for (std::size_t i = 0; i < merges_.size() && i < row.values.size(); ++i) {
      if (merges_[i] == Merge::kMax) {
        counted[i] = std::max(counted[i], row.values[i]);
        continue;
      }
      const std::int64_t expected = row.values[i] + deleted[i];
      if (expected > counted[i]) {
        if (i == 0) report.rows_added += expected - counted[i];
        counted[i] = expected;
      } else if (expected < counted[i]) {
        if (i == 0) report.rows_deleted += counted[i] - expected;
        deleted[i] += counted[i] - expected;
      }
    }
  }
  // Label sets the store no longer holds at all: every counted row was deleted.
  for (auto& [labels, counted] : values_) {
    if (seen.contains(labels)) continue;
    std::vector<std::int64_t>& deleted = deleted_[labels];
    deleted.resize(merges_.size(), 0);
    for (std::size_t i = 0; i < merges_.size(); ++i) {
      if (merges_[i] != Merge::kSum || counted[i] <= deleted[i]) continue;
      if (i == 0) report.rows_deleted += counted[i] - deleted[i];
      deleted[i] = counted[i];
    }
  }
  corrections_ += report.rows_added;
  return report;
}

std::int64_t CounterLedger::ExpireGaps(SteadyTime now, Duration window) {
  while (!advances_.empty() && now - advances_.front().first > window) advances_.pop_front();
  std::int64_t expired = 0;
  std::erase_if(gaps_, [&](const Gap& gap) {
    if (now - gap.first_seen <= window) return false;
    expired += gap.range.last - gap.range.first + 1;
    if (keep_released_) released_.push_back(gap.range);
    return true;
  });
  return expired;
}

std::int64_t CounterLedger::LimitGaps(std::size_t max_ranges) {
  if (gaps_.size() <= max_ranges) return 0;
  // Ranges are sorted by id; the lowest ids are the oldest.
  const std::size_t excess = gaps_.size() - max_ranges;
  std::int64_t dropped = 0;
  for (std::size_t i = 0; i < excess; ++i) {
    dropped += gaps_[i].range.last - gaps_[i].range.first + 1;
    if (keep_released_) released_.push_back(gaps_[i].range);
  }
  gaps_.erase(gaps_.begin(), gaps_.begin() + static_cast<std::ptrdiff_t>(excess));
  return dropped;
}

void CounterLedger::ReleaseGapsBelow(std::int64_t id) {
  for (Gap& gap : gaps_) {
    if (gap.range.first >= id || gap.range.last < id) continue;
    // A gap across `id`: its ids below are released, the rest stays tracked.
    if (keep_released_) released_.push_back({gap.range.first, id - 1});
    gap.range.first = id;
  }
  std::erase_if(gaps_, [&](const Gap& gap) {
    if (gap.range.last >= id) return false;
    if (keep_released_) released_.push_back(gap.range);
    return true;
  });
}

std::int64_t CounterLedger::ApplyFound(const std::vector<AggregateRow>& rows) {
  std::int64_t found = 0;
  for (const AggregateRow& row : rows) {
    Add(row);
    if (!row.values.empty()) found += row.values[0];
  }
  corrections_ += found;
  return found;
}

}  // namespace outcomes
