#include "exporter/collectors/registry.h"

#include <initializer_list>

#include "exporter/collectors/ab_tests.h"
#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/data_quality.h"
#include "exporter/collectors/drift.h"
#include "exporter/collectors/endpoint.h"
#include "exporter/collectors/query.h"
#include "exporter/collectors/registry_mlflow.h"
#include "exporter/collectors/store.h"
#include "exporter/collectors/store_health.h"
#include "exporter/collectors/thresholds.h"
#include "exporter/config/collector_sections.h"

namespace outcomes {
namespace {

// The table: one factory per collector kind, in the order /metrics lists them.
constexpr CollectorFactory kCollectorTable[] = {
    &AddStoreCollector,        // store
    &AddAbTestsCollector,      // ab_tests
    &AddDriftCollector,        // drift
    &AddCohortsCollector,      // cohorts
    &AddQueryCollectors,       // query/<name>
    &AddEndpointCollectors,    // endpoint/<name>
    &AddRegistryCollectors,    // registry/<name>
    &AddThresholdsCollector,   // thresholds
    &AddDataQualityCollector,  // data_quality
    &AddStoreHealthCollector,  // store_health
};

// The readers of the `analytics:` sections that a collector declares next to itself
// (collector_sections.h): {key, &ReadSection<ItsConfig, &ItsReader>}, one line per collector.
// The collectors whose sections are still in analytics_config.h are not listed. A list, not
// a C array, because it may be empty.
constexpr std::initializer_list<CollectorSectionReader> kSectionReaderTable = {};

}  // namespace

std::span<const CollectorSectionReader> CollectorSectionReaders() {
  return {kSectionReaderTable.begin(), kSectionReaderTable.size()};
}

Result<std::vector<std::shared_ptr<Collector>>> BuildCollectors(const Config& config,
                                                                CollectorContext& context) {
  CollectorSet built;
  for (const CollectorFactory factory : kCollectorTable) factory(config, context, built);
  if (!built.errors.empty()) return Status::Error(built.errors);
  return built.collectors;
}

}  // namespace outcomes
