// The outcomes store collector ("store"): exact business counters from the reference schema,
// read incrementally past per-table watermarks and corrected by a periodic full recount (see
// CounterLedger and docs/EXACTNESS.md), plus store health gauges. Each business family exports
// at most store.series_limit label sets (see SeriesLimit); the excess is still counted, shown
// in outcomes_exporter_series_dropped and logged once. Owned by the scheduler's worker thread;
// Cancel() is safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "exporter/collectors/collector.h"
#include "exporter/collectors/factory.h"
#include "exporter/config/config.h"
#include "exporter/core/clock.h"
#include "exporter/core/log.h"
#include "exporter/counting/incremental.h"
#include "exporter/metrics/series_limit.h"
#include "exporter/store/reconnecting_session.h"

namespace outcomes {

// The three tables of the reference schema, in the order the collector reads them.
const std::vector<TableSpec>& ReferenceTables();

struct StoreCollectorDeps {
  Logger& log;
  // Creates the session; the seam that lets tests inject their own.
  std::function<std::unique_ptr<StoreSession>(const SessionOptions&)> make_session;
  // Intervals and backoff. Default: the machine's steady clock.
  SteadyClock now = SteadyOf(RealClock());
  // The timestamps exported (last recount). Default: the machine's wall clock.
  SystemClock wall_now = SystemOf(RealClock());
};

// The deps of a SQL collector built by a factory: the context's logger and sessions.
inline StoreCollectorDeps StoreDeps(const CollectorContext& context) {
  return StoreCollectorDeps{context.log, context.make_session};
}

class StoreCollector : public WithSettings<BlockingCollector, StoreConfig> {
 public:
  StoreCollector(StoreConfig config, StoreCollectorDeps deps);

  CollectOutput Collect() override;
  void Cancel() override;

 private:
  Status ReadTables(SnapshotReader& reader, bool full_count);
  // Also brings each business family's SeriesLimit up to date with the ledgers.
  std::vector<prometheus::MetricFamily> BuildFamilies();
  SeriesLimit& LimitOf(const std::string& family);
  // One line when a family starts dropping series, not one per cycle.
  void WarnAboutNewDrops();

  // The frame's name and settings(), by the names the reads use.
  const std::string& name_ = name();
  const StoreConfig& config_ = settings();
  StoreCollectorDeps deps_;
  std::unique_ptr<ReconnectingSession> connection_;
  std::vector<CounterLedger> ledgers_;  // one per ReferenceTables() entry
  bool store_up_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_full_count_;
  std::chrono::system_clock::time_point last_full_count_wall_{};
  // By family name; the ledgers keep counting every label set, /metrics gets the kept ones.
  std::map<std::string, SeriesLimit> limits_;
  std::set<std::string> warned_families_;
};

// The factory of "store": one collector when `store` is configured.
void AddStoreCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
