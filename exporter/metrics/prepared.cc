#include "exporter/metrics/prepared.h"

#include <prometheus/text_serializer.h>

#include <sstream>
#include <unordered_map>
#include <utility>

namespace outcomes {

PreparedFamilies::PreparedFamilies(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  const prometheus::TextSerializer serializer;
  std::vector<prometheus::MetricFamily> one(1);
  families_.reserve(families.size());
  for (const prometheus::MetricFamily& family : families) {
    // One family at a time, to know where each begins; the serializer takes only vectors.
    const auto begin = static_cast<std::size_t>(out.tellp());
    one[0] = family;
    serializer.Serialize(out, one);
    families_.push_back({family.name, begin, 0, static_cast<std::size_t>(out.tellp())});
  }
  text_ = std::move(out).str();
  for (Family& family : families_) {
    // The header is the lines that start with '#' (HELP, TYPE); a sample line never does.
    std::size_t at = family.begin;
    while (at < family.end && text_[at] == '#') {
      const std::size_t newline = text_.find('\n', at);
      at = newline == std::string::npos ? family.end : newline + 1;
    }
    family.samples = at;
  }
}

std::string_view PreparedFamilies::Header(const Family& family) const {
  return std::string_view(text_).substr(family.begin, family.samples - family.begin);
}

std::string_view PreparedFamilies::Samples(const Family& family) const {
  return std::string_view(text_).substr(family.samples, family.end - family.samples);
}

std::string Concatenate(const std::vector<const PreparedFamilies*>& parts) {
  using Member = std::pair<const PreparedFamilies*, const PreparedFamilies::Family*>;
  std::vector<std::vector<Member>> groups;
  std::unordered_map<std::string_view, std::size_t> group_of;
  std::size_t size = 0;
  bool merged = false;
  for (const PreparedFamilies* part : parts) {
    if (part == nullptr) continue;
    size += part->text().size();
    for (const PreparedFamilies::Family& family : part->families()) {
      const auto [it, inserted] = group_of.emplace(family.name, groups.size());
      if (inserted) groups.emplace_back();
      merged = merged || !inserted;
      groups[it->second].emplace_back(part, &family);
    }
  }
  std::string out;
  out.reserve(size);
  if (!merged) {
    // Every name appears once: the parts' texts in order are the exposition already.
    for (const PreparedFamilies* part : parts) {
      if (part != nullptr) out += part->text();
    }
    return out;
  }
  for (const std::vector<Member>& group : groups) {
    out += group.front().first->Header(*group.front().second);
    for (const auto& [part, family] : group) out += part->Samples(*family);
  }
  return out;
}

}  // namespace outcomes
