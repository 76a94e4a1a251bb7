// SqlCollector: the base of collectors that read the outcomes store once per cycle, in one
// read-only snapshot, on their own connection (with the store's reconnect backoff). It owns
// the frame (name, interval, timeout, the store section, which a reload compares); a subclass,
// written as WithSettings<SqlCollector, ItsConfig>, says what to read and what to export. A
// failed cycle keeps its last results. Owned by its worker thread (see BlockingCollector);
// Cancel() is safe from any thread.
#pragma once

#include <memory>

#include "exporter/collectors/collector.h"
#include "exporter/collectors/store.h"
#include "exporter/store/plan_check.h"
#include "exporter/store/reconnecting_session.h"

namespace outcomes {

class SqlCollector : public BlockingCollector {
 public:
  SqlCollector(std::string name, StoreConfig store, Duration interval, Duration timeout,
               StoreCollectorDeps deps);

  CollectOutput Collect() final;
  void Cancel() final { connection_->Cancel(); }

 protected:
  // Reads this cycle's data; called inside the snapshot.
  virtual Status Read(SnapshotReader& reader) = 0;
  // The families to serve, from the last successful Read().
  virtual std::vector<prometheus::MetricFamily> Families() const = 0;
  // The steady-state statements with representative parameters, EXPLAINed once at the first
  // successful connection (plan_check.h). Default: none.
  virtual std::vector<PlannedStatement> PlannedStatements() const { return {}; }
  // The tables whose whole reads the plan check reports. Default: the reference tables, as
  // store.schema names them.
  virtual std::vector<ShippedIndex> WatchedTables() const { return WatchedIndexes(store_.schema); }
  // Compares the store section; still pure, so that each collector adds its own settings.
  bool SameSettings(const Collector& other) const override = 0;

  const StoreConfig& store_config() const { return store_; }
  Logger& log() { return deps_.log; }

 private:
  const StoreConfig store_;
  StoreCollectorDeps deps_;
  std::unique_ptr<ReconnectingSession> connection_;
  SessionOptions session_options_;  // for the plan check's own session
  bool plans_checked_ = false;
};

// Parses a number that SQL returned as text; NULL is 0.
Result<double> ParseNumber(const std::optional<std::string>& text, const std::string& what);

}  // namespace outcomes
