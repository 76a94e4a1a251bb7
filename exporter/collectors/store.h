// The outcomes store collector ("store"): exact business counters from the reference schema,
// read incrementally past per-table watermarks and corrected by a periodic full recount (see
// CounterLedger and docs/EXACTNESS.md), plus store health gauges. Owned by the scheduler's
// worker thread; Cancel() is safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "exporter/analytics/counter_ledger.h"
#include "exporter/collectors/collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/store/reconnecting_session.h"

namespace outcomes {

// How one table is read. `aggregate_sql` holds "{filter}" where the id condition goes; its
// first `label_count` columns are labels, the rest values in the order of `merges`.
struct TableSpec {
  std::string table;
  std::string id_column;  // qualified id column used in the filter, e.g. "e.id"
  std::string aggregate_sql;
  std::size_t label_count = 0;
  std::vector<Merge> merges;
};

// The three tables of the reference schema, in the order the collector reads them.
const std::vector<TableSpec>& ReferenceTables();

// The statements of one cycle, exposed so tests can check their plans. $1/$2 are ids.
namespace store_sql {
// Highest id past $1 (or $1 when there is none).
std::string MaxIdAfter(const TableSpec& spec);
// Highest id of the table (0 when empty).
std::string MaxId(const TableSpec& spec);
// Ranges of ids missing in ($1, $2], as (first, last) rows.
std::string Gaps(const TableSpec& spec);
// Ids now visible inside the gap ranges given as arrays $1 (firsts) and $2 (lasts).
std::string LateIds(const TableSpec& spec);
// The aggregate of the ids in array $1.
std::string RowsWithIds(const TableSpec& spec);
// The aggregate of the ids in ($1, $2].
std::string RowsInRange(const TableSpec& spec);
// The aggregate of the whole table.
std::string AllRows(const TableSpec& spec);
}  // namespace store_sql

struct StoreCollectorDeps {
  Logger& log;
  // Creates the session; the seam that lets tests inject their own.
  std::function<std::unique_ptr<StoreSession>(const SessionOptions&)> make_session;
  std::function<std::chrono::steady_clock::time_point()> now =
      [] { return std::chrono::steady_clock::now(); };
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

  // Most gap ranges kept per table; beyond it the oldest are left to the full recount.
  static constexpr std::size_t kMaxGapRanges = 10'000;
  // How far below the top id the first full count looks for ids still being written.
  static constexpr std::int64_t kInitialGapScan = 100'000;

 private:
  Status ReadTables(SnapshotReader& reader, bool full_count);
  Status InitialCount(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger);
  Status Increment(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger);
  Status FullCount(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger);
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
