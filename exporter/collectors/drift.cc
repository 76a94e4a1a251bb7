#include "exporter/collectors/drift.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "exporter/analytics/stats.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

// SchemaSql templates from here on.
const std::string& FineBin() {
  static const std::string kSql = "least(greatest(floor({recommendations.score} * " +
                                  std::to_string(kFineBins) + "), 0), " +
                                  std::to_string(kFineBins - 1) + ")::int";
  return kSql;
}

// The instant of parameter $`param`, in microseconds since the epoch: the edges of the windows
// are passed exactly, so that a row is on the same side of an edge in every statement.
std::string At(int param) {
  return "(timestamptz 'epoch' + $" + std::to_string(param) +
         "::bigint * interval '1 microsecond')";
}

// The snapshot's now() in microseconds since the epoch: where the cycle's windows end.
constexpr const char* kNowSql = "SELECT (extract(epoch FROM now()) * 1000000)::bigint";

// Per (model_version, in the current window, fine bin): the recommendations `filter` selects,
// the current window starting at `current_from`.
std::string WindowedSql(const std::string& current_from, const std::string& filter) {
  return "SELECT {recommendations.model_version}, {recommendations.created_at} >= " + current_from +
         ", " + FineBin() + ", count(*) FROM {recommendations} WHERE " + filter +
         " GROUP BY 1, 2, 3";
}

Result<std::vector<std::int64_t>> ParseInts(const Row& row, std::size_t first,
                                            const std::string& what) {
  std::vector<std::int64_t> values;
  for (std::size_t i = first; i < row.size(); ++i) {
    Result<double> value = ParseNumber(row[i], what);
    if (!value.ok()) return value.status();
    values.push_back(static_cast<std::int64_t>(value.value()));
  }
  return values;
}

// The fine histogram of `version`'s reference (or current) window in `windows`.
std::vector<std::int64_t>& HistogramOf(ScoreWindows& windows, const std::string& version,
                                       bool current) {
  WindowHistograms& both = windows[version];
  both.reference.resize(kFineBins, 0);
  both.current.resize(kFineBins, 0);
  return current ? both.current : both.reference;
}

// Adds drift_baseline / drift_delta rows: (model_version, in the current window, bin, count).
Status AddWindowed(const std::vector<Row>& rows, const std::string& what, ScoreWindows& into) {
  for (const Row& row : rows) {
    if (row.size() != 4) return Status::Error(what + ": unexpected column count");
    Result<std::vector<std::int64_t>> values = ParseInts(row, 2, what);
    if (!values.ok()) return values.status();
    const auto [bin, count] = std::make_pair(values.value()[0], values.value()[1]);
    if (bin < 0 || bin >= kFineBins) return Status::Error(what + ": bin out of range");
    HistogramOf(into, row[0].value_or(""), row[1] == "t")[static_cast<std::size_t>(bin)] += count;
  }
  return Status::Ok();
}

// Moves the counted rows that crossed an edge (drift_edges: model_version, was in the current
// window, is in the windows, is in the current window, bin, count) to their window now.
Status MoveAcrossEdges(const std::vector<Row>& rows, ScoreWindows& windows) {
  for (const Row& row : rows) {
    if (row.size() != 6) return Status::Error("drift_edges: unexpected column count");
    Result<std::vector<std::int64_t>> values = ParseInts(row, 4, "drift_edges");
    if (!values.ok()) return values.status();
    const auto [bin, count] = std::make_pair(values.value()[0], values.value()[1]);
    if (bin < 0 || bin >= kFineBins) return Status::Error("drift_edges: bin out of range");
    const std::string version = row[0].value_or("");
    const auto fine = static_cast<std::size_t>(bin);
    std::int64_t& left = HistogramOf(windows, version, row[1] == "t")[fine];
    left = std::max<std::int64_t>(left - count, 0);  // never below 0, even for an uncounted row
    if (row[2] == "t") HistogramOf(windows, version, row[3] == "t")[fine] += count;
  }
  return Status::Ok();
}

std::int64_t Micros(Duration duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

}  // namespace

std::string DriftCollector::BaselineSql(const SchemaSql& sql) {
  return sql.Render(WindowedSql(At(2), "{recommendations.created_at} >= " + At(1)));
}

// The rows counted before ($3 .. $5) and the new ones ($6 .. $8) in both windows.
std::string DriftCollector::RebuildSql(const SchemaSql& sql) {
  return sql.Render(WindowedSql(At(2), "{recommendations.created_at} >= " + At(1) + " AND (" +
                                           CountedFilter("{recommendations.id}", 3) + " OR " +
                                           NewRowsFilter("{recommendations.id}", 6) + ")"));
}

std::string DriftCollector::DeltaSql(const SchemaSql& sql) {
  return sql.Render(WindowedSql(At(5), NewRowsFilter("{recommendations.id}", 1) +
                                           " AND {recommendations.created_at} >= " + At(4)));
}

// The rows counted before this cycle ($5 .. $7, CountedFilter) whose window changed since the
// last: created between the reference window's old ($1) and new ($2) start, or between the
// current window's old ($3) and new ($4) start. Two ranges of the created_at index, as long as
// the windows moved.
std::string DriftCollector::EdgesSql(const SchemaSql& sql) {
  const std::string created = "{recommendations.created_at}";
  return sql.Render("SELECT {recommendations.model_version}, " + created + " >= " + At(3) + ", " +
                    created + " >= " + At(2) + ", " + created + " >= " + At(4) + ", " + FineBin() +
                    ", count(*) FROM {recommendations} WHERE ((" + created + " >= " + At(1) +
                    " AND " + created + " < " + At(2) + ") OR (" + created + " >= " + At(3) +
                    " AND " + created + " < " + At(4) + ")) AND " +
                    CountedFilter("{recommendations.id}", 5) + " GROUP BY 1, 2, 3, 4, 5");
}

double PsiErrorBound(const std::vector<std::int64_t>& reference,
                     const std::vector<std::int64_t>& current, const std::vector<double>& dp,
                     const std::vector<double>& dq, double floor) {
  const auto n =
      static_cast<double>(std::accumulate(reference.begin(), reference.end(), std::int64_t{0}));
  const auto m =
      static_cast<double>(std::accumulate(current.begin(), current.end(), std::int64_t{0}));
  if (n <= 0 || m <= 0) return 0;
  double bound = 0;
  for (std::size_t i = 0; i < reference.size() && i < current.size(); ++i) {
    const double p = reference[i] > 0 ? static_cast<double>(reference[i]) / n : floor;
    const double q = current[i] > 0 ? static_cast<double>(current[i]) / m : floor;
    // PSI term (q - p) ln(q / p): its gradient here, and its second derivatives at their
    // largest over the box [p - dp, p + dp] x [q - dq, q + dq].
    const double df_dp = -std::log(q / p) + 1 - q / p;
    const double df_dq = std::log(q / p) + 1 - p / q;
    const double p_low = std::max(p - dp[i], floor);
    const double q_low = std::max(q - dq[i], floor);
    const double p_high = p + dp[i];
    const double q_high = q + dq[i];
    const double curvature = (1 / p_low + q_high / (p_low * p_low)) + 2 * (1 / p_low + 1 / q_low) +
                             (1 / q_low + p_high / (q_low * q_low));
    const double step = std::max(dp[i], dq[i]);
    bound += std::abs(df_dp) * dp[i] + std::abs(df_dq) * dq[i] + 0.5 * curvature * step * step;
  }
  return bound;
}

std::string DriftCollector::BinsSql(std::int64_t bins, const SchemaSql& sql) {
  // The inner cut points k/B, k = 1 .. B-1, of the reference window's score distribution.
  std::string fractions;
  for (std::int64_t k = 1; k < bins; ++k) {
    if (!fractions.empty()) fractions += ", ";
    fractions += std::to_string(static_cast<double>(k) / static_cast<double>(bins));
  }
  return sql.Render(R"SQL(
WITH reference AS (
  SELECT {recommendations.model_version} AS model_version, {recommendations.score} AS score
  FROM {recommendations}
  WHERE {recommendations.created_at} >= now() - ($1::interval + $2::interval)
    AND {recommendations.created_at} < now() - $2::interval
), current_window AS (
  SELECT {recommendations.model_version} AS model_version, {recommendations.score} AS score
  FROM {recommendations} WHERE {recommendations.created_at} >= now() - $2::interval
), cuts AS (
  SELECT model_version,
         percentile_cont(ARRAY[)SQL" +
                    fractions + R"SQL(]::float8[]) WITHIN GROUP (ORDER BY score) AS edges
  FROM reference GROUP BY model_version
), binned AS (
  SELECT 'reference' AS window_name, r.model_version, width_bucket(r.score, c.edges) AS bin
  FROM reference r JOIN cuts c USING (model_version)
  UNION ALL
  SELECT 'current', w.model_version, width_bucket(w.score, c.edges)
  FROM current_window w JOIN cuts c USING (model_version)
)
SELECT model_version, window_name, bin, count(*) FROM binned GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
)SQL");
}

DriftCollector::DriftCollector(const StoreConfig& store, DriftConfig config,
                               StoreCollectorDeps deps)
    : WithSettings(config, "drift", store, config.interval, config.timeout, std::move(deps)),
      sql_(store.schema),
      recommendations_(sql_, "recommendations") {
  // Late commits past store.late_commit_window reach the histograms through the sweep.
  recommendations_.SweepReleasedGaps(
      {config_.interval, store.reconcile_interval, store.sweep_ranges_per_cycle});
}

double DriftCollector::NoiseLevel(std::int64_t n, std::int64_t m) {
  const auto key = std::make_tuple(n, m);
  const auto cached = noise_levels_.find(key);
  const double level = cached != noise_levels_.end()
                           ? cached->second
                           : stats::PsiNoiseLevel(static_cast<int>(config_.bins), n, m, 0.95);
  noise_levels_used_[key] = level;
  return level;
}

Result<DriftCollector::WindowStarts> DriftCollector::ReadWindowStarts(SnapshotReader& reader) {
  Result<std::vector<Row>> now_rows = reader.Query("drift_now", kNowSql, {});
  if (!now_rows.ok()) return now_rows.status();
  Result<std::vector<std::int64_t>> now = ParseInts(now_rows.value().at(0), 0, "drift_now");
  if (!now.ok()) return now.status();
  if (now.value().size() != 1) return Status::Error("drift_now: unexpected column count");
  // The windows only move forward, even if the store's clock goes back.
  const std::int64_t end = std::max(now.value()[0], windows_end_.value_or(now.value()[0]));
  const std::int64_t current = end - Micros(config_.current_window);
  return WindowStarts{current - Micros(config_.reference_window), current};
}

Result<ScoreWindows> DriftCollector::ReadWhole(SnapshotReader& reader, const std::string& name,
                                               const std::string& sql,
                                               const std::vector<std::string>& params) {
  Result<std::vector<Row>> rows = reader.Query(name, sql, params);
  if (!rows.ok()) return rows.status();
  ScoreWindows windows;
  Status added = AddWindowed(rows.value(), name, windows);
  if (!added.ok()) return added;
  return windows;
}

Result<ScoreWindows> DriftCollector::ReadWindows(SnapshotReader& reader, const WindowStarts& starts,
                                                 const NewRows& recommendations) {
  std::vector<std::string> params = {std::to_string(starts.reference),
                                     std::to_string(starts.current)};
  if (recommendations.baseline || !windows_end_) {
    return ReadWhole(reader, "drift_baseline", BaselineSql(sql_), params);
  }
  const std::int64_t last_current = *windows_end_ - Micros(config_.current_window);
  const std::int64_t last_reference = last_current - Micros(config_.reference_window);
  const std::int64_t moved = starts.current - last_current;
  if (2 * moved >= Micros(config_.reference_window + config_.current_window)) {
    // After an outage the edges would span more time than the windows: read them once instead.
    for (std::string& param : recommendations_.CountedParams()) params.push_back(std::move(param));
    for (std::string& param : recommendations.Params()) params.push_back(std::move(param));
    return ReadWhole(reader, "drift_rebuild", RebuildSql(sql_), params);
  }
  ScoreWindows windows = windows_;
  if (moved > 0) {
    std::vector<std::string> edges = {std::to_string(last_reference), params[0],
                                      std::to_string(last_current), params[1]};
    for (std::string& param : recommendations_.CountedParams()) edges.push_back(std::move(param));
    Result<std::vector<Row>> rows = reader.Query("drift_edges", EdgesSql(sql_), edges);
    if (!rows.ok()) return rows.status();
    Status applied = MoveAcrossEdges(rows.value(), windows);
    if (!applied.ok()) return applied;
  }
  if (recommendations.upto == recommendations.after && recommendations.found_ids.empty()) {
    return windows;
  }
  std::vector<std::string> delta = recommendations.Params();
  delta.insert(delta.end(), params.begin(), params.end());
  Result<std::vector<Row>> rows = reader.Query("drift_delta", DeltaSql(sql_), delta);
  if (!rows.ok()) return rows.status();
  Status added = AddWindowed(rows.value(), "drift_delta", windows);
  if (!added.ok()) return added;
  return windows;
}

// Cuts the reference on the merged fine histogram. percentile_cont(k / B) interpolates
// between the reference scores of ranks floor(r) and ceil(r), r = k (N - 1) / B; the cut is
// the lower edge of the fine bin holding the upper one. A score outside the fine bins from
// the one holding the lower score to the one holding the upper falls on the same side of this
// cut as of the exact one, so only the scores of those bins (usually one) can be binned
// differently.
DriftResult DriftCollector::Compare(const std::string& version,
                                    const std::vector<std::int64_t>& reference,
                                    const std::vector<std::int64_t>& current) const {
  const std::int64_t bins = config_.bins;
  const std::int64_t n = std::accumulate(reference.begin(), reference.end(), std::int64_t{0});
  const std::int64_t m = std::accumulate(current.begin(), current.end(), std::int64_t{0});
  // The fine bin holding the reference score of 0-based rank `rank`.
  const auto bin_of = [&reference](std::int64_t rank) {
    std::size_t fine = 0;
    for (std::int64_t below = 0; below + reference[fine] <= rank; ++fine) below += reference[fine];
    return fine;
  };
  DriftResult result;
  result.model_version = version;
  std::vector<std::int64_t> cut_bins;
  for (std::int64_t k = 1; k < bins; ++k) {
    const std::size_t low = bin_of(k * (n - 1) / bins);
    const std::size_t fine = bin_of((k * (n - 1) + bins - 1) / bins);
    cut_bins.push_back(static_cast<std::int64_t>(fine));
    result.cuts.push_back(static_cast<double>(fine) / static_cast<double>(kFineBins));
    result.reference_at_cut.push_back(std::accumulate(
        reference.begin() + static_cast<std::ptrdiff_t>(low),
        reference.begin() + static_cast<std::ptrdiff_t>(fine) + 1, std::int64_t{0}));
    result.current_at_cut.push_back(
        std::accumulate(current.begin() + static_cast<std::ptrdiff_t>(low),
                        current.begin() + static_cast<std::ptrdiff_t>(fine) + 1, std::int64_t{0}));
  }
  result.reference.assign(static_cast<std::size_t>(bins), 0);
  result.current.assign(static_cast<std::size_t>(bins), 0);
  std::size_t coarse = 0;
  for (std::size_t f = 0; f < reference.size(); ++f) {
    while (coarse < cut_bins.size() && cut_bins[coarse] <= static_cast<std::int64_t>(f)) ++coarse;
    result.reference[coarse] += reference[f];
    result.current[coarse] += current[f];
  }
  result.psi = stats::PopulationStabilityIndex(result.reference, result.current);
  // A bin's count can be off by the scores of the fine bins at its two cuts.
  std::vector<double> dp(static_cast<std::size_t>(bins), 0);
  std::vector<double> dq(static_cast<std::size_t>(bins), 0);
  for (std::size_t k = 0; k < cut_bins.size(); ++k) {
    const double at_reference =
        static_cast<double>(result.reference_at_cut[k]) / static_cast<double>(n);
    const double at_current =
        static_cast<double>(result.current_at_cut[k]) / static_cast<double>(m);
    for (std::size_t side : {k, k + 1}) {
      dp[side] += at_reference;
      dq[side] += at_current;
    }
  }
  result.psi_error_bound = PsiErrorBound(result.reference, result.current, dp, dq);
  return result;
}

Status DriftCollector::Read(SnapshotReader& reader) {
  Result<WindowStarts> starts = ReadWindowStarts(reader);
  if (!starts.ok()) return starts.status();
  Result<NewRows> recommendations = recommendations_.Read(reader, "drift_");
  if (!recommendations.ok()) return recommendations.status();
  const SteadyTime now = std::chrono::steady_clock::now();
  Result<ScoreWindows> windows = ReadWindows(reader, starts.value(), recommendations.value());
  if (!windows.ok()) return windows.status();
  ScoreWindows& kept = windows.value();
  const auto empty = [](const std::vector<std::int64_t>& histogram) {
    return std::all_of(histogram.begin(), histogram.end(), [](std::int64_t n) { return n == 0; });
  };
  std::erase_if(kept, [&empty](const auto& entry) {
    return empty(entry.second.reference) && empty(entry.second.current);
  });
  std::vector<DriftResult> results;
  for (const auto& [version, both] : kept) {
    const std::int64_t n =
        std::accumulate(both.reference.begin(), both.reference.end(), std::int64_t{0});
    const std::int64_t m =
        std::accumulate(both.current.begin(), both.current.end(), std::int64_t{0});
    if (n == 0 || m == 0) continue;  // nothing to compare yet
    DriftResult result = Compare(version, both.reference, both.current);
    result.noise_level = NoiseLevel(n, m);
    results.push_back(std::move(result));
  }

  if (!recommendations.value().swept_ids.empty()) {
    log().Info("the sweep found rows committed after store.late_commit_window",
               {{"collector", "drift"},
                {"rows", std::to_string(recommendations.value().swept_ids.size())}});
  }
  if (recommendations.value().baseline && recommendations_.initialized()) {
    log().Warn(
        "recommendations went back below the ids read (older backup restored?); the score "
        "histograms are rebuilt from what the store holds now",
        {{"collector", "drift"}});
  }
  recommendations_.Commit(recommendations.value(), now, store_config().late_commit_window);
  windows_ = std::move(kept);
  windows_end_ = starts.value().current + Micros(config_.current_window);
  results_ = std::move(results);
  noise_levels_ = std::move(noise_levels_used_);
  noise_levels_used_.clear();
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> DriftCollector::Families() const {
  using prometheus::MetricType;
  auto psi = MakeFamily("outcomes_prediction_psi",
                        "Population stability index of recommendations.score, current window "
                        "against the reference window.",
                        MetricType::Gauge);
  auto noise =
      MakeFamily("outcomes_prediction_psi_noise_level",
                 "95th percentile of the PSI under no drift at these bins and sample sizes "
                 "(simulated): drift below it is not evidence.",
                 MetricType::Gauge);
  auto samples = MakeFamily("outcomes_prediction_psi_samples",
                            "Recommendations in each window of the PSI.", MetricType::Gauge);
  for (const DriftResult& result : results_) {
    const Labels version = {{"model_version", result.model_version}};
    AddSample(psi, version, result.psi);
    AddSample(noise, version, result.noise_level);
    AddSample(samples, {{"model_version", result.model_version}, {"window", "reference"}},
              static_cast<double>(std::accumulate(result.reference.begin(), result.reference.end(),
                                                  std::int64_t{0})));
    AddSample(samples, {{"model_version", result.model_version}, {"window", "current"}},
              static_cast<double>(
                  std::accumulate(result.current.begin(), result.current.end(), std::int64_t{0})));
  }
  std::vector<prometheus::MetricFamily> families;
  for (auto* family : {&psi, &noise, &samples}) {
    if (!family->metric.empty()) families.push_back(std::move(*family));
  }
  return families;
}

void AddDriftCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (!config.store || !config.analytics || !config.analytics->drift) return;
  out.Add(std::make_shared<DriftCollector>(*config.store, *config.analytics->drift,
                                           StoreDeps(context)));
}

}  // namespace outcomes
