#include "exporter/collectors/drift.h"

#include <numeric>

#include "exporter/analytics/stats.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

std::string Seconds(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " seconds";
}

}  // namespace

std::string DriftCollector::BinsSql(std::int64_t bins) {
  // The inner cut points k/B, k = 1 .. B-1, of the reference window's score distribution.
  std::string fractions;
  for (std::int64_t k = 1; k < bins; ++k) {
    if (!fractions.empty()) fractions += ", ";
    fractions += std::to_string(static_cast<double>(k) / static_cast<double>(bins));
  }
  return R"SQL(
WITH reference AS (
  SELECT model_version, score FROM recommendations
  WHERE created_at >= now() - ($1::interval + $2::interval) AND created_at < now() - $2::interval
), current_window AS (
  SELECT model_version, score FROM recommendations WHERE created_at >= now() - $2::interval
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
)SQL";
}

DriftCollector::DriftCollector(const StoreConfig& store, DriftConfig config,
                               StoreCollectorDeps deps)
    : SqlCollector("drift", store, config.interval, config.timeout, std::move(deps)),
      config_(config) {}

bool DriftCollector::SameConfig(const Collector& other) const {
  const auto* same = dynamic_cast<const DriftCollector*>(&other);
  return same != nullptr && same->config_ == config_ && same->store_config() == store_config();
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

Status DriftCollector::Read(SnapshotReader& reader) {
  Result<std::vector<Row>> rows =
      reader.Query("drift_bins", BinsSql(config_.bins),
                   {Seconds(config_.reference_window), Seconds(config_.current_window)});
  if (!rows.ok()) return rows.status();
  const auto bins = static_cast<std::size_t>(config_.bins);
  std::map<std::string, DriftResult> by_version;
  for (const Row& row : rows.value()) {
    if (row.size() != 4) return Status::Error("drift_bins: unexpected column count");
    DriftResult& result = by_version[row[0].value_or("")];
    result.model_version = row[0].value_or("");
    result.reference.resize(bins, 0);
    result.current.resize(bins, 0);
    Result<double> bin = ParseNumber(row[2], "drift_bins");
    Result<double> count = ParseNumber(row[3], "drift_bins");
    if (!bin.ok()) return bin.status();
    if (!count.ok()) return count.status();
    // width_bucket gives 0 .. B-1 for B-1 cut points.
    const auto index = std::min(static_cast<std::size_t>(bin.value()), bins - 1);
    (row[1] == "reference" ? result.reference : result.current)[index] +=
        static_cast<std::int64_t>(count.value());
  }
  std::vector<DriftResult> results;
  for (auto& [version, result] : by_version) {
    const std::int64_t n =
        std::accumulate(result.reference.begin(), result.reference.end(), std::int64_t{0});
    const std::int64_t m =
        std::accumulate(result.current.begin(), result.current.end(), std::int64_t{0});
    if (n == 0 || m == 0) continue;  // nothing to compare yet
    result.psi = stats::PopulationStabilityIndex(result.reference, result.current);
    result.noise_level = NoiseLevel(n, m);
    results.push_back(std::move(result));
  }
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

}  // namespace outcomes
