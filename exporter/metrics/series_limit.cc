#include "exporter/metrics/series_limit.h"

#include <algorithm>

namespace outcomes {

void SeriesLimit::Admit(std::vector<Candidate> candidates) {
  const std::size_t room = limit_ - kept_.size();
  if (candidates.size() > room) {
    const auto larger_first = [](const Candidate& a, const Candidate& b) {
      if (a.size != b.size) return a.size > b.size;
      return *a.labels < *b.labels;
    };
    std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(room),
                     candidates.end(), larger_first);
    candidates.resize(room);
  }
  for (const Candidate& candidate : candidates) kept_.insert(*candidate.labels);
}

}  // namespace outcomes
