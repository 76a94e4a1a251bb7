#include "exporter/metrics/family.h"

#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>

#include "exporter/core/text.h"

namespace outcomes {

prometheus::MetricFamily MakeFamily(std::string name, std::string help,
                                    prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(prometheus::MetricFamily& family, const Labels& labels, double value) {
  prometheus::ClientMetric metric;
  metric.label.reserve(labels.size());
  for (const auto& [name, label_value] : labels) {
    metric.label.push_back({name, SanitizeUtf8(label_value)});
  }
  switch (family.type) {
    case prometheus::MetricType::Counter: metric.counter.value = value; break;
    case prometheus::MetricType::Gauge: metric.gauge.value = value; break;
    default: metric.untyped.value = value; break;
  }
  family.metric.push_back(std::move(metric));
}

std::vector<prometheus::MetricFamily> MergeFamilies(std::vector<prometheus::MetricFamily> input) {
  std::vector<prometheus::MetricFamily> output;
  std::map<std::string, std::size_t> index;
  for (auto& family : input) {
    const auto [it, inserted] = index.emplace(family.name, output.size());
    if (inserted) {
      output.push_back(std::move(family));
      continue;
    }
    auto& target = output[it->second].metric;
    target.insert(target.end(), std::make_move_iterator(family.metric.begin()),
                  std::make_move_iterator(family.metric.end()));
  }
  return output;
}

std::string Serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace outcomes
