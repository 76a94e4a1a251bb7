// The prediction drift collector ("drift"): the population stability index of
// recommendations.score per model_version, between a reference window and the current window,
// over equal-frequency bins cut on the reference, with the sample sizes and the PSI that
// sampling noise alone exceeds 5% of the time (simulated for the bins and sizes, see
// stats::PsiNoiseLevel).
//
// Scores are kept in memory as two histograms of kFineBins equal bins over [0, 1] per
// model_version, one per window, read once from the store and then kept exact by the rows that
// change: each cycle adds the recommendations new since the last (NewRowsTracker: watermark,
// late ids and the sweep of what committed after store.late_commit_window) and moves the rows
// counted before that crossed an edge since the last cycle (created between an edge's last and
// new position: as many rows as the windows moved over; after an outage that moved them by more
// than half their span, the windows are read once instead). The sample sizes are
// exact; the cuts are taken from the merged fine histogram, which makes the bin counts and the
// PSI approximate within a bound computed each cycle (docs/METRICS.md).
#pragma once

#include <map>
#include <optional>
#include <tuple>

#include "exporter/collectors/sql_collector.h"
#include "exporter/counting/new_rows.h"

namespace outcomes {

// Fine bins of the score histograms: [k / kFineBins, (k + 1) / kFineBins), the scores below 0
// in the first and those from 1 on in the last.
inline constexpr std::int64_t kFineBins = 2000;

struct DriftResult {
  std::string model_version;
  std::vector<std::int64_t> reference;  // counts per bin
  std::vector<std::int64_t> current;
  double psi = 0;
  double noise_level = 0;
  // The inner cuts (bins - 1 of them), each the lower edge of a fine bin, and how many
  // reference and current scores the fine bins between the two reference scores the exact cut
  // interpolates hold (usually one bin): only those can be binned differently from the exact
  // quantile cuts.
  std::vector<double> cuts;
  std::vector<std::int64_t> reference_at_cut;
  std::vector<std::int64_t> current_at_cut;
  // An upper bound of |psi - the PSI over the exact quantile cuts| (see PsiErrorBound).
  double psi_error_bound = 0;
};

// The kFineBins counts of one model version's scores in each window.
struct WindowHistograms {
  std::vector<std::int64_t> reference;
  std::vector<std::int64_t> current;
};
using ScoreWindows = std::map<std::string, WindowHistograms>;  // by model_version

class DriftCollector : public WithSettings<SqlCollector, DriftConfig> {
 public:
  DriftCollector(const StoreConfig& store, DriftConfig config, StoreCollectorDeps deps);

  // The full-window SQL that returns (model_version, window, bin, count) over the exact
  // quantile cuts: the definition, and the oracle of the tests.
  static std::string BinsSql(std::int64_t bins, const SchemaSql& sql = SchemaSql());
  // The first read of both windows, and the steady-state statements, public so tests can
  // check their plans.
  static std::string BaselineSql(const SchemaSql& sql = SchemaSql());
  // Both windows, limited to the rows counted once this cycle's new rows are in: read instead
  // of the edges when the windows moved by more than half their span (an outage).
  static std::string RebuildSql(const SchemaSql& sql = SchemaSql());
  static std::string DeltaSql(const SchemaSql& sql = SchemaSql());
  static std::string EdgesSql(const SchemaSql& sql = SchemaSql());

  // The results of the last successful cycle (for tests; not thread-safe).
  const std::vector<DriftResult>& results() const { return results_; }
  // Where the windows of the last successful cycle end, microseconds since the epoch (tests).
  std::optional<std::int64_t> windows_end() const { return windows_end_; }

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;
  std::vector<PlannedStatement> PlannedStatements() const override;  // planned_statements.cc

 private:
  // The noise level at (bins, N, M) from the simulation, memoised: only the sizes seen in the
  // last cycle are kept, so the cache stays as small as the number of model versions.
  double NoiseLevel(std::int64_t n, std::int64_t m);
  // Where the windows start this cycle, in microseconds since the epoch.
  struct WindowStarts {
    std::int64_t reference = 0;
    std::int64_t current = 0;
  };
  Result<WindowStarts> ReadWindowStarts(SnapshotReader& reader);
  static Result<ScoreWindows> ReadWhole(SnapshotReader& reader, const std::string& name,
                                        const std::string& sql,
                                        const std::vector<std::string>& params);
  // The histograms at `starts`: read whole on the first cycle (or after the table went back, or
  // an outage), else the last ones with the rows that crossed an edge moved and the new rows
  // added.
  Result<ScoreWindows> ReadWindows(SnapshotReader& reader, const WindowStarts& starts,
                                   const NewRows& recommendations);
  DriftResult Compare(const std::string& version, const std::vector<std::int64_t>& reference,
                      const std::vector<std::int64_t>& current) const;

  // settings(), by the name the reads use.
  const DriftConfig& config_ = settings();
  std::vector<DriftResult> results_;
  std::map<std::tuple<std::int64_t, std::int64_t>, double> noise_levels_;  // (N, M) -> level
  std::map<std::tuple<std::int64_t, std::int64_t>, double> noise_levels_used_;

  const SchemaSql sql_;  // the store's names (store.schema)
  NewRowsTracker recommendations_;
  ScoreWindows windows_;
  std::optional<std::int64_t> windows_end_;  // the last cycle's now(), microseconds
};

// A bound of the PSI's change when each bin's reference share moves by at most dp[i] and its
// current share by at most dq[i] from p[i], q[i] (first order plus the largest second-order
// remainder over that box), with stats::PopulationStabilityIndex's floor.
double PsiErrorBound(const std::vector<std::int64_t>& reference,
                     const std::vector<std::int64_t>& current, const std::vector<double>& dp,
                     const std::vector<double>& dq, double floor = 1e-4);

// The factory of "drift": one collector when `store` and `analytics.drift` are configured.
void AddDriftCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
