// The outcomes store collector ("store"): exact business counters from the reference schema,
// read incrementally past per-table watermarks, with the ids missing for longer than
// store.late_commit_window re-checked by a bounded sweep (see CounterLedger, GapSweep and
// docs/EXACTNESS.md), plus store health gauges. Each business family exports
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
#include "exporter/collectors/store_startup.h"
#include "exporter/config/config.h"
#include "exporter/core/clock.h"
#include "exporter/core/log.h"
#include "exporter/counting/incremental.h"
#include "exporter/counting/sweep.h"
#include "exporter/metrics/series_limit.h"
#include "exporter/store/plan_check.h"
#include "exporter/store/reconnecting_session.h"
#include "exporter/store/schema_sql.h"

namespace outcomes {

// The three tables the collector reads, in this order, with their statements rendered from
// the store's names; `table` stays the reference name (statement names, the table label).
std::vector<TableSpec> StoreTables(const SchemaSql& sql);
// StoreTables() of the reference schema.
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
  StoreCollector(const StoreConfig& config, StoreCollectorDeps deps);

  CollectOutput Collect() override;
  void Cancel() override;
  // The per-cycle reads of the reference tables, for the start-up plan check (plan_check.h).
  std::vector<PlannedStatement> PlannedStatements() const;

 private:
  // The first count of every table, in parallel on several sessions (ParallelCount).
  Status CountFromScratch();
  Status ReadTables(SnapshotReader& reader);
  // One table's increment and sweep step, in the cycle's snapshot.
  Status ReadTable(SnapshotReader& reader, std::size_t table);
  // Hands the gaps the ledgers stopped re-checking to the sweeps.
  void ReleaseExpiredGaps();
  using Families = std::vector<prometheus::MetricFamily>;
  // Also brings each business family's SeriesLimit up to date with the ledgers.
  Families BuildFamilies();
  void AddRecommendationFamilies(Families& families);
  void AddEventFamilies(Families& families);
  void AddFeedbackFamilies(Families& families);
  // Watermarks, late ids, corrections and the recount's progress, per table.
  void AddLedgerFamilies(Families& families);
  // The sweep's progress, period and ranges per table, and when it last covered every table.
  void AddSweepFamilies(Families& families);
  // Series dropped by the limits and the statements' durations.
  void AddSessionFamilies(Families& families);
  SeriesLimit& LimitOf(const std::string& family);
  // One line when a family starts dropping series, not one per cycle.
  void WarnAboutNewDrops();

  // The frame's name and settings(), by the names the reads use.
  const std::string& name_ = name();
  const StoreConfig& config_ = settings();
  StoreCollectorDeps deps_;
  std::unique_ptr<ReconnectingSession> connection_;
  const std::vector<TableSpec> tables_;  // StoreTables() of config_.schema
  ParallelCount first_count_;
  std::vector<CounterLedger> ledgers_;  // one per tables_ entry
  std::vector<GapSweep> sweeps_;        // one per tables_ entry
  // Per table, when its sweep last completed a pass.
  std::vector<std::optional<std::chrono::system_clock::time_point>> pass_done_;
  bool store_up_ = false;
  // By family name; the ledgers keep counting every label set, /metrics gets the kept ones.
  std::map<std::string, SeriesLimit> limits_;
  std::set<std::string> warned_families_;
  SessionOptions session_options_;  // for the plan check's own session
  bool plans_checked_ = false;
};

// The factory of "store": one collector when `store` is configured.
void AddStoreCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
