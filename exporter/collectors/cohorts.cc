#include "exporter/collectors/cohorts.h"

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

constexpr const char* kCohortSql = R"SQL(
WITH cohort AS (
  SELECT id, model_version FROM recommendations
  WHERE created_at >= now() - ($1::interval + $2::interval) AND created_at < now() - $1::interval
), decided AS (
  SELECT e.recommendation_id,
         bool_or(e.status = 'ACCEPTED') AS accepted,
         bool_or(e.status = 'REJECTED') AS rejected,
         bool_or(e.status = 'PURCHASED') AS purchased,
         bool_or(e.status = 'RETURNED') AS returned,
         bool_and(e.status = 'PENDING') AS only_pending
  FROM outcome_events e JOIN cohort c ON c.id = e.recommendation_id
  GROUP BY e.recommendation_id
)
SELECT c.model_version, count(*),
       count(*) FILTER (WHERE d.accepted), count(*) FILTER (WHERE d.rejected),
       count(*) FILTER (WHERE d.purchased), count(*) FILTER (WHERE d.returned),
       count(*) FILTER (WHERE d.recommendation_id IS NULL OR d.only_pending)
FROM cohort c LEFT JOIN decided d ON d.recommendation_id = c.id
GROUP BY 1 ORDER BY 1
)SQL";

// A loose index scan over recommendations(model_version, created_at): one probe per version,
// so the cost follows the number of versions, not of rows.
constexpr const char* kFirstSeenSql = R"SQL(
WITH RECURSIVE versions AS (
  (SELECT model_version FROM recommendations ORDER BY model_version LIMIT 1)
  UNION ALL
  SELECT (SELECT r.model_version FROM recommendations r WHERE r.model_version > v.model_version
          ORDER BY r.model_version LIMIT 1)
  FROM versions v WHERE v.model_version IS NOT NULL
)
SELECT v.model_version,
       extract(epoch FROM (SELECT min(r.created_at) FROM recommendations r
                           WHERE r.model_version = v.model_version))::float8
FROM versions v WHERE v.model_version IS NOT NULL
)SQL";

std::string Seconds(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " seconds";
}

double Ratio(std::int64_t numerator, std::int64_t denominator) {
  return denominator > 0 ? static_cast<double>(numerator) / static_cast<double>(denominator) : 0;
}

}  // namespace

CohortsCollector::CohortsCollector(const StoreConfig& store, CohortsConfig config,
                                   double cost_per_recommendation, StoreCollectorDeps deps)
    : SqlCollector("cohorts", store, config.interval, config.timeout, std::move(deps)),
      config_(config),
      cost_per_recommendation_(cost_per_recommendation) {}

bool CohortsCollector::SameConfig(const Collector& other) const {
  const auto* same = dynamic_cast<const CohortsCollector*>(&other);
  return same != nullptr && same->config_ == config_ &&
         same->cost_per_recommendation_ == cost_per_recommendation_ &&
         same->store_config() == store_config();
}

Status CohortsCollector::Read(SnapshotReader& reader) {
  Result<std::vector<Row>> rows =
      reader.Query("cohorts", kCohortSql, {Seconds(config_.lag), Seconds(config_.window)});
  if (!rows.ok()) return rows.status();
  std::vector<Cohort> cohorts;
  for (const Row& row : rows.value()) {
    if (row.size() != 7) return Status::Error("cohorts: unexpected column count");
    Cohort cohort;
    cohort.model_version = row[0].value_or("");
    std::int64_t* fields[] = {&cohort.recommendations, &cohort.accepted, &cohort.rejected,
                              &cohort.purchased,       &cohort.returned, &cohort.pending};
    for (std::size_t i = 0; i < 6; ++i) {
      Result<double> value = ParseNumber(row[i + 1], "cohorts");
      if (!value.ok()) return value.status();
      *fields[i] = static_cast<std::int64_t>(value.value());
    }
    cohorts.push_back(cohort);
  }
  Result<std::vector<Row>> first = reader.Query("model_versions_first_seen", kFirstSeenSql, {});
  if (!first.ok()) return first.status();
  std::vector<std::pair<std::string, double>> first_seen;
  for (const Row& row : first.value()) {
    Result<double> seconds = ParseNumber(row.at(1), "model_versions_first_seen");
    if (!seconds.ok()) return seconds.status();
    first_seen.emplace_back(row.at(0).value_or(""), seconds.value());
  }
  cohorts_ = std::move(cohorts);
  first_seen_ = std::move(first_seen);
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> CohortsCollector::Families() const {
  using prometheus::MetricType;
  struct CohortMetric {
    const char* name;
    const char* help;
    double (*value)(const Cohort&);
  };
  static const CohortMetric kMetrics[] = {
      {"outcomes_cohort_recommendations",
       "Recommendations in the matured cohort (created between lag + window and lag ago).",
       [](const Cohort& c) { return static_cast<double>(c.recommendations); }},
      {"outcomes_cohort_acceptance_ratio",
       "Accepted / (accepted + rejected) in the matured cohort.",
       [](const Cohort& c) { return Ratio(c.accepted, c.accepted + c.rejected); }},
      {"outcomes_cohort_purchase_ratio", "Purchased / recommendations in the matured cohort.",
       [](const Cohort& c) { return Ratio(c.purchased, c.recommendations); }},
      {"outcomes_cohort_return_ratio", "Returned / purchased in the matured cohort.",
       [](const Cohort& c) { return Ratio(c.returned, c.purchased); }},
      {"outcomes_cohort_pending_ratio", "Share of the matured cohort with no decisive event yet.",
       [](const Cohort& c) { return Ratio(c.pending, c.recommendations); }},
  };
  std::vector<prometheus::MetricFamily> families;
  for (const CohortMetric& metric : kMetrics) {
    auto family = MakeFamily(metric.name, metric.help, MetricType::Gauge);
    for (const Cohort& cohort : cohorts_) {
      AddSample(family, {{"model_version", cohort.model_version}}, metric.value(cohort));
    }
    if (!family.metric.empty()) families.push_back(std::move(family));
  }
  auto first_seen =
      MakeFamily("outcomes_model_version_first_seen_timestamp_seconds",
                 "created_at of the model version's first recommendation.", MetricType::Gauge);
  for (const auto& [version, seconds] : first_seen_) {
    AddSample(first_seen, {{"model_version", version}}, seconds);
  }
  if (!first_seen.metric.empty()) families.push_back(std::move(first_seen));
  auto cost =
      MakeFamily("outcomes_cost_per_recommendation",
                 "Configured cost of serving one recommendation, for ROI.", MetricType::Gauge);
  AddSample(cost, {}, cost_per_recommendation_);
  families.push_back(std::move(cost));
  return families;
}

}  // namespace outcomes
