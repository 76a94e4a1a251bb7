// The outcomes store collector ("store"): exact business counters from the reference schema,
// read incrementally past per-table watermarks and corrected by a periodic full recount (see
// CounterLedger and docs/EXACTNESS.md), plus store health gauges. Owned by the scheduler's
// worker thread; Cancel() is safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "exporter/collectors/collector.h"
#include "exporter/collectors/incremental.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/store/reconnecting_session.h"

namespace outcomes {

// The three tables of the reference schema, in the order the collector reads them.
const std::vector<TableSpec>& ReferenceTables();

struct StoreCollectorDeps {
  Logger& log;
  // Creates the session; the seam that lets tests inject their own.
  std::function<std::unique_ptr<StoreSession>(const SessionOptions&)> make_session;
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

class StoreCollector : public Collector {
 public:
  StoreCollector(StoreConfig config, StoreCollectorDeps deps);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return config_.interval; }
  Duration timeout() const override { return config_.timeout; }
  CollectOutput Collect() override;
  void Cancel() override;
  bool SameConfig(const Collector& other) const override;

 private:
  Status ReadTables(SnapshotReader& reader, bool full_count);
  std::vector<prometheus::MetricFamily> BuildFamilies() const;

  const std::string name_ = "store";
  const StoreConfig config_;
  StoreCollectorDeps deps_;
  std::unique_ptr<ReconnectingSession> connection_;
  std::vector<CounterLedger> ledgers_;  // one per ReferenceTables() entry
  bool store_up_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_full_count_;
  std::chrono::system_clock::time_point last_full_count_wall_{};
};

}  // namespace outcomes
