#include "exporter/collectors/registry.h"

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

namespace outcomes {
namespace {

using Collectors = std::vector<std::shared_ptr<Collector>>;
// Adds the collectors of one kind; appends one line per problem to `errors`.
using Factory = void (*)(const Config&, CollectorContext&, Collectors&, std::string& errors);

StoreCollectorDeps SessionDeps(CollectorContext& context) {
  return StoreCollectorDeps{context.log,
                            [](const SessionOptions& options) { return MakePgSession(options); }};
}

void AddStore(const Config& config, CollectorContext& context, Collectors& out, std::string&) {
  if (!config.store) return;
  out.push_back(std::make_shared<StoreCollector>(*config.store, SessionDeps(context)));
}

void AddAnalytics(const Config& config, CollectorContext& context, Collectors& out, std::string&) {
  if (!config.analytics || !config.store) return;
  const AnalyticsConfig& analytics = *config.analytics;
  if (analytics.ab_tests) {
    out.push_back(std::make_shared<AbTestsCollector>(*config.store, *analytics.ab_tests,
                                                     SessionDeps(context)));
  }
  if (analytics.drift) {
    out.push_back(
        std::make_shared<DriftCollector>(*config.store, *analytics.drift, SessionDeps(context)));
  }
  if (analytics.cohorts) {
    out.push_back(std::make_shared<CohortsCollector>(*config.store, *analytics.cohorts,
                                                     analytics.cost_per_recommendation,
                                                     SessionDeps(context)));
  }
}

void AddDataQuality(const Config& config, CollectorContext& context, Collectors& out,
                    std::string&) {
  if (!config.store || !config.analytics || !config.analytics->data_quality) return;
  out.push_back(std::make_shared<DataQualityCollector>(
      *config.store, *config.analytics->data_quality, SessionDeps(context)));
}

void AddStoreHealth(const Config& config, CollectorContext& context, Collectors& out,
                    std::string&) {
  if (!config.store || !config.store_health.enabled) return;
  out.push_back(std::make_shared<StoreHealthCollector>(*config.store, config.store_health,
                                                       SessionDeps(context)));
}

void AddQueries(const Config& config, CollectorContext& context, Collectors& out, std::string&) {
  if (!config.store) return;
  for (const QueryConfig& query : config.queries) {
    out.push_back(std::make_shared<QueryCollector>(*config.store, query, SessionDeps(context)));
  }
}

// One collector per configured entry, for kinds whose Create() may fail.
template <typename CollectorType, typename EntryConfig>
void AddEach(const std::vector<EntryConfig>& entries, CollectorContext& context, Collectors& out,
             std::string& errors) {
  for (const EntryConfig& entry : entries) {
    auto collector = CollectorType::Create(entry, context.log);
    if (collector.ok()) {
      out.push_back(collector.value());
    } else {
      errors += (errors.empty() ? "" : "\n") + collector.error();
    }
  }
}

void AddEndpoints(const Config& config, CollectorContext& context, Collectors& out,
                  std::string& errors) {
  AddEach<EndpointCollector>(config.endpoints, context, out, errors);
}

void AddRegistries(const Config& config, CollectorContext& context, Collectors& out,
                   std::string& errors) {
  AddEach<MlflowRegistryCollector>(config.registries, context, out, errors);
}

void AddThresholds(const Config& config, CollectorContext&, Collectors& out, std::string&) {
  out.push_back(MakeThresholdsCollector(config));
}

// The table: one entry per collector kind.
constexpr Factory kCollectorTable[] = {
    &AddStore,      &AddAnalytics,  &AddQueries,     &AddEndpoints,
    &AddRegistries, &AddThresholds, &AddDataQuality, &AddStoreHealth,
};

}  // namespace

Result<Collectors> BuildCollectors(const Config& config, CollectorContext& context) {
  Collectors collectors;
  std::string errors;
  for (const Factory factory : kCollectorTable) factory(config, context, collectors, errors);
  if (!errors.empty()) return Status::Error(errors);
  return collectors;
}

}  // namespace outcomes
