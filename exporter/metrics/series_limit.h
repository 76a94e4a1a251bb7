// Keeps one metric family within a number of label sets across collection cycles, so that a
// label with unbounded values (a model_version per build, say) cannot grow /metrics and memory
// without bound. Not thread-safe: owned by one collector.
//
// Which label sets are kept: a label set once exported stays exported for as long as it
// exists, so a kept counter never vanishes and comes back (which Prometheus would read as a
// gap and a reset). Room, at the first cycle or when kept label sets disappear, goes to the
// largest new label sets first, ties broken by label order, so the choice depends only on the
// data, never on the order rows arrive in. The price: a label set first seen once the family is
// full is not exported until room frees (or a restart), which the drop count makes visible.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace outcomes {

class SeriesLimit {
 public:
  using LabelSet = std::vector<std::string>;

  explicit SeriesLimit(std::size_t limit) : limit_(limit) {}

  // Takes this cycle's label sets of the family: `series` maps each LabelSet to its value,
  // `size(value)` ranks new label sets when there is room for only some of them.
  template <typename Map, typename Size>
  void Update(const Map& series, Size size);

  // Calls fn(labels, value) for each kept entry of `series` (as given to Update), in label
  // order.
  template <typename Map, typename Fn>
  void ForEachKept(const Map& series, Fn fn) const;

  // Label sets of the last Update exported, and left out.
  std::size_t kept() const { return kept_.size(); }
  std::size_t dropped() const { return dropped_; }

 private:
  struct Candidate {
    double size;
    const LabelSet* labels;
  };
  void Admit(std::vector<Candidate> candidates);

  const std::size_t limit_;
  std::set<LabelSet> kept_;
  std::size_t dropped_ = 0;
};

template <typename Map, typename Size>
void SeriesLimit::Update(const Map& series, Size size) {
  std::erase_if(kept_, [&series](const LabelSet& labels) { return !series.contains(labels); });
  // Once the family is full, label sets only wait: no need to look at them.
  if (kept_.size() < limit_ && series.size() > kept_.size()) {
    std::vector<Candidate> candidates;
    for (const auto& [labels, value] : series) {
      if (!kept_.contains(labels))
        candidates.push_back({static_cast<double>(size(value)), &labels});
    }
    Admit(std::move(candidates));
  }
  dropped_ = series.size() - kept_.size();
}

template <typename Map, typename Fn>
void SeriesLimit::ForEachKept(const Map& series, Fn fn) const {
  if (dropped_ == 0) {
    for (const auto& [labels, value] : series) fn(labels, value);
    return;
  }
  for (const LabelSet& labels : kept_) {
    if (const auto it = series.find(labels); it != series.end()) fn(it->first, it->second);
  }
}

}  // namespace outcomes
