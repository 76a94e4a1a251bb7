// Small builders for prometheus::MetricFamily snapshots. Collectors build fresh families each
// cycle (const metrics), never long-lived metric objects. Pure functions.
#pragma once

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace outcomes {

using Labels = std::vector<std::pair<std::string, std::string>>;

prometheus::MetricFamily MakeFamily(std::string name, std::string help,
                                    prometheus::MetricType type);

// Adds one sample; label values are made valid UTF-8 on the way in.
void AddSample(prometheus::MetricFamily& family, const Labels& labels, double value);

// Merges families that share a name (e.g. one per endpoint collector) so that every name
// appears once in the exposition, keeping the first family's help and type.
std::vector<prometheus::MetricFamily> MergeFamilies(std::vector<prometheus::MetricFamily> input);

// The whole exposition in the text format 0.0.4.
std::string Serialize(const std::vector<prometheus::MetricFamily>& families);

}  // namespace outcomes
