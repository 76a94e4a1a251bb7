#include "exporter/collectors/registry.h"

#include "exporter/collectors/store.h"

namespace outcomes {
namespace {

using Factory = void (*)(const Config&, CollectorContext&,
                         std::vector<std::shared_ptr<Collector>>&);

void AddStore(const Config& config, CollectorContext& context,
              std::vector<std::shared_ptr<Collector>>& out) {
  if (!config.store) return;
  out.push_back(std::make_shared<StoreCollector>(
      *config.store,
      StoreCollectorDeps{context.log, [](const SessionOptions& options) {
                           return MakePgSession(options);
                         }}));
}

// The table: one entry per collector kind.
constexpr Factory kCollectorTable[] = {
    &AddStore,
};

}  // namespace

std::vector<std::shared_ptr<Collector>> BuildCollectors(const Config& config,
                                                        CollectorContext& context) {
  std::vector<std::shared_ptr<Collector>> collectors;
  for (const Factory factory : kCollectorTable) factory(config, context, collectors);
  return collectors;
}

}  // namespace outcomes
