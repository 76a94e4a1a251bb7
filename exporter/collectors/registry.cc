#include "exporter/collectors/registry.h"

#include "exporter/collectors/endpoint.h"
#include "exporter/collectors/store.h"

namespace outcomes {
namespace {

using Collectors = std::vector<std::shared_ptr<Collector>>;
// Adds the collectors of one kind; appends one line per problem to `errors`.
using Factory = void (*)(const Config&, CollectorContext&, Collectors&, std::string& errors);

void AddStore(const Config& config, CollectorContext& context, Collectors& out, std::string&) {
  if (!config.store) return;
  out.push_back(std::make_shared<StoreCollector>(
      *config.store,
      StoreCollectorDeps{context.log, [](const SessionOptions& options) {
                           return MakePgSession(options);
                         }}));
}

void AddEndpoints(const Config& config, CollectorContext& context, Collectors& out,
                  std::string& errors) {
  for (const EndpointConfig& endpoint : config.endpoints) {
    Result<std::shared_ptr<EndpointCollector>> collector =
        EndpointCollector::Create(endpoint, context.log);
    if (collector.ok()) {
      out.push_back(collector.value());
    } else {
      errors += (errors.empty() ? "" : "\n") + collector.error();
    }
  }
}

// The table: one entry per collector kind.
constexpr Factory kCollectorTable[] = {
    &AddStore,
    &AddEndpoints,
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
