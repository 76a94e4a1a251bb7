// PreparedFamilies: metric families serialized once, when a collection cycle ends, and read by
// every scrape until the next cycle, so that a scrape copies bytes instead of formatting numbers.
// Each family keeps its place in the text, so that families of one name from several collectors
// (every endpoint collector exports model_endpoint_up) can be merged without parsing.
// Thread-safe: immutable once built.
#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace outcomes {

class PreparedFamilies {
 public:
  // One family's place in text(): its HELP and TYPE lines from `begin`, its samples from
  // `samples` to `end`.
  struct Family {
    std::string name;
    std::size_t begin = 0;
    std::size_t samples = 0;
    std::size_t end = 0;
  };

  PreparedFamilies() = default;
  // Serializes `families` in the text format 0.0.4, in their order.
  explicit PreparedFamilies(const std::vector<prometheus::MetricFamily>& families);

  const std::string& text() const { return text_; }
  const std::vector<Family>& families() const { return families_; }
  std::string_view Header(const Family& family) const;
  std::string_view Samples(const Family& family) const;

 private:
  std::string text_;
  std::vector<Family> families_;
};

using PreparedPart = std::shared_ptr<const PreparedFamilies>;

// The exposition of `parts` in their order. Families that share a name, in one part or across
// parts, appear once, where the name first appears, with the first one's HELP and TYPE and then
// the samples of each in order: the text format allows a name only once. Null parts are skipped.
std::string Concatenate(const std::vector<const PreparedFamilies*>& parts);

}  // namespace outcomes
