#include "exporter/collectors/cohorts.h"

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

// The matured-cohort aggregate over the recommendations that `filter` selects, per
// model_version. A SchemaSql template.
std::string CohortAggregate(const std::string& filter) {
  return R"SQL(
WITH cohort AS (
  SELECT {recommendations.id} AS id, {recommendations.model_version} AS model_version
  FROM {recommendations}
  WHERE )SQL" +
         filter + R"SQL(
), decided AS (
  SELECT e.{outcome_events.recommendation_id} AS recommendation_id,
         bool_or(e.{outcome_events.status} = {status:ACCEPTED}) AS accepted,
         bool_or(e.{outcome_events.status} = {status:REJECTED}) AS rejected,
         bool_or(e.{outcome_events.status} = {status:PURCHASED}) AS purchased,
         bool_or(e.{outcome_events.status} = {status:RETURNED}) AS returned,
         bool_and(e.{outcome_events.status} = {status:PENDING}) AS only_pending
  FROM {outcome_events} e JOIN cohort c ON c.id = e.{outcome_events.recommendation_id}
  GROUP BY 1
)
SELECT c.model_version, count(*),
       count(*) FILTER (WHERE d.accepted), count(*) FILTER (WHERE d.rejected),
       count(*) FILTER (WHERE d.purchased), count(*) FILTER (WHERE d.returned),
       count(*) FILTER (WHERE d.recommendation_id IS NULL OR d.only_pending)
FROM cohort c LEFT JOIN decided d ON d.recommendation_id = c.id
GROUP BY 1 ORDER BY 1
)SQL";
}

// A recommendation's decisive events `e` folded into bit flags: 1 accepted, 2 rejected,
// 4 purchased, 8 returned (NOT_PURCHASED adds none). Read from outcome_events_decided_idx.
constexpr const char* kEventFlags = R"SQL(
       bit_or(CASE e.{outcome_events.status} WHEN {status:ACCEPTED} THEN 1
                WHEN {status:REJECTED} THEN 2 WHEN {status:PURCHASED} THEN 4
                WHEN {status:RETURNED} THEN 8 ELSE 0 END) AS flags)SQL";

// CohortAggregate's accepted, rejected, purchased, returned and pending counts from the flags
// `d.flags`: NULL for a recommendation without a decisive event, which is pending.
constexpr const char* kFlagCounts = R"SQL(
       count(*) FILTER (WHERE d.flags & 1 <> 0), count(*) FILTER (WHERE d.flags & 2 <> 0),
       count(*) FILTER (WHERE d.flags & 4 <> 0), count(*) FILTER (WHERE d.flags & 8 <> 0),
       count(*) FILTER (WHERE d.flags IS NULL))SQL";

// The unix minutes holding the cohort's start (now - lag - window) and end (now - lag).
constexpr const char* kBoundsSql =
    "SELECT floor(extract(epoch FROM now() - ($1::interval + $2::interval)) / 60)::bigint, "
    "floor(extract(epoch FROM now() - $1::interval) / 60)::bigint";

constexpr const char* kOracleFilter =
    "{recommendations.created_at} >= now() - ($1::interval + $2::interval) "
    "AND {recommendations.created_at} < now() - $1::interval";

// The parts of the cohort inside the minutes $3 (its start) and $4 (its end): two ranges of
// the created_at index, at most a minute each.
constexpr const char* kEdgesFilter =
    "({recommendations.created_at} >= now() - ($1::interval + $2::interval) "
    "AND {recommendations.created_at} < least(to_timestamp(($3::bigint + 1) * 60), "
    "now() - $1::interval)) "
    "OR ({recommendations.created_at} >= greatest(to_timestamp($4::bigint * 60), "
    "now() - ($1::interval + $2::interval)) AND {recommendations.created_at} < now() - "
    "$1::interval)";

// A loose index scan over recommendations(model_version, created_at): one probe per version,
// so the cost follows the number of versions, not of rows.
constexpr const char* kFirstSeenSql = R"SQL(
WITH RECURSIVE versions(model_version) AS (
  (SELECT {recommendations.model_version} FROM {recommendations}
   ORDER BY {recommendations.model_version} LIMIT 1)
  UNION ALL
  SELECT (SELECT r.{recommendations.model_version} FROM {recommendations} r
          WHERE r.{recommendations.model_version} > v.model_version
          ORDER BY r.{recommendations.model_version} LIMIT 1)
  FROM versions v WHERE v.model_version IS NOT NULL
)
SELECT v.model_version,
       extract(epoch FROM (SELECT min(r.{recommendations.created_at}) FROM {recommendations} r
                           WHERE r.{recommendations.model_version} = v.model_version))::float8
FROM versions v WHERE v.model_version IS NOT NULL
)SQL";

std::string Seconds(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " seconds";
}

double Ratio(std::int64_t numerator, std::int64_t denominator) {
  return denominator > 0 ? static_cast<double>(numerator) / static_cast<double>(denominator) : 0;
}

// Parses `count` integer columns starting at `first` of `row`.
Result<std::vector<std::int64_t>> ParseCounts(const Row& row, std::size_t first, std::size_t count,
                                              const std::string& what) {
  if (row.size() != first + count) return Status::Error(what + ": unexpected column count");
  std::vector<std::int64_t> values;
  for (std::size_t i = first; i < row.size(); ++i) {
    Result<double> value = ParseNumber(row[i], what);
    if (!value.ok()) return value.status();
    values.push_back(static_cast<std::int64_t>(value.value()));
  }
  return values;
}

void AddTo(CohortCounts& counts, const std::vector<std::int64_t>& values) {
  counts.recommendations += values[0];
  counts.accepted += values[1];
  counts.rejected += values[2];
  counts.purchased += values[3];
  counts.returned += values[4];
  counts.pending += values[5];
}

}  // namespace

std::string CohortsCollector::OracleSql(const SchemaSql& sql) {
  return sql.Render(CohortAggregate(kOracleFilter));
}

// Per (model_version, creation minute) from the minute $1 on, CohortAggregate's counts in one
// merge of two ordered scans: the recommendations by primary key, and their decisive events
// (every status but PENDING, which alone leaves a recommendation pending) folded into bit flags
// per recommendation, by the partial index outcome_events_decided_idx (deploy/sql/schema.sql)
// alone. The lowest id created from $1 on bounds both scans from below. This is the start-up
// cost of the collector, so it is written for the plan.
std::string CohortsCollector::BaselineSql(const SchemaSql& sql) {
  return sql.Render(std::string(R"SQL(
WITH lowest AS MATERIALIZED (
  SELECT coalesce(min({recommendations.id}), 0) AS id FROM {recommendations}
  WHERE {recommendations.created_at} >= to_timestamp($1::bigint * 60)
)
SELECT r.{recommendations.model_version},
       floor(extract(epoch FROM r.{recommendations.created_at}) / 60)::bigint, count(*),)SQL") +
                    kFlagCounts + R"SQL(
FROM {recommendations} r
LEFT JOIN (
  SELECT e.{outcome_events.recommendation_id} AS recommendation_id,)SQL" +
                    kEventFlags + R"SQL(
  FROM {outcome_events} e
  WHERE e.{outcome_events.status} <> {status:PENDING}
    AND e.{outcome_events.recommendation_id} >= (SELECT id FROM lowest)
  GROUP BY 1
) d ON d.recommendation_id = r.{recommendations.id}
WHERE r.{recommendations.created_at} >= to_timestamp($1::bigint * 60)
  AND r.{recommendations.id} >= (SELECT id FROM lowest)
GROUP BY 1, 2
)SQL");
}

// CohortAggregate's counts over the kEdgesFilter minutes, with each recommendation's decisive
// events folded into bit flags as in BaselineSql(): one probe per recommendation into the partial
// index outcome_events_decided_idx, index-only, so no event row is fetched. A recommendation
// with no decisive event (none, or PENDING only) is pending, as in CohortAggregate.
std::string CohortsCollector::EdgesSql(const SchemaSql& sql) {
  return sql.Render(std::string(R"SQL(
SELECT r.{recommendations.model_version}, count(*),)SQL") +
                    kFlagCounts + R"SQL(
FROM {recommendations} r
CROSS JOIN LATERAL (
  SELECT)SQL" + kEventFlags +
                    R"SQL(
  FROM {outcome_events} e
  WHERE e.{outcome_events.recommendation_id} = r.{recommendations.id}
    AND e.{outcome_events.status} <> {status:PENDING}
) d
WHERE )SQL" + kEdgesFilter +
                    R"SQL(
GROUP BY 1 ORDER BY 1
)SQL");
}

std::string CohortsCollector::FirstSeenSql(const SchemaSql& sql) {
  return sql.Render(kFirstSeenSql);
}

// Per (model_version, minute) the change the new rows make: a new recommendation adds itself
// with the flags of all its events; a known one touched by new events moves from the flags of
// its events counted before (those outside the new ids) to the flags of all of them.
std::string CohortsCollector::DeltaSql(const SchemaSql& sql) {
  const std::string new_recommendation = NewRowsFilter("r.{recommendations.id}", 1);
  const std::string new_event = NewRowsFilter("e.{outcome_events.id}", 4);
  return sql.Render(R"SQL(
WITH flags AS (
  SELECT r.{recommendations.model_version} AS model_version,
         floor(extract(epoch FROM r.{recommendations.created_at}) / 60)::bigint AS minute,
         )SQL" + new_recommendation +
                    R"SQL( AS is_new,
         coalesce(bool_or(e.{outcome_events.status} = {status:ACCEPTED}), false) AS accepted,
         coalesce(bool_or(e.{outcome_events.status} = {status:REJECTED}), false) AS rejected,
         coalesce(bool_or(e.{outcome_events.status} = {status:PURCHASED}), false) AS purchased,
         coalesce(bool_or(e.{outcome_events.status} = {status:RETURNED}), false) AS returned,
         coalesce(bool_and(e.{outcome_events.status} = {status:PENDING}), true) AS pending,
         coalesce(bool_or(e.{outcome_events.status} = {status:ACCEPTED}) FILTER (WHERE NOT )SQL" +
                    new_event + R"SQL(), false) AS accepted_before,
         coalesce(bool_or(e.{outcome_events.status} = {status:REJECTED}) FILTER (WHERE NOT )SQL" +
                    new_event + R"SQL(), false) AS rejected_before,
         coalesce(bool_or(e.{outcome_events.status} = {status:PURCHASED}) FILTER (WHERE NOT )SQL" +
                    new_event + R"SQL(), false) AS purchased_before,
         coalesce(bool_or(e.{outcome_events.status} = {status:RETURNED}) FILTER (WHERE NOT )SQL" +
                    new_event + R"SQL(), false) AS returned_before,
         coalesce(bool_and(e.{outcome_events.status} = {status:PENDING}) FILTER (WHERE NOT )SQL" +
                    new_event + R"SQL(), true) AS pending_before
  FROM {recommendations} r
  LEFT JOIN {outcome_events} e ON e.{outcome_events.recommendation_id} = r.{recommendations.id}
  WHERE r.{recommendations.id} = ANY(ARRAY(
          SELECT n.{recommendations.id} FROM {recommendations} n WHERE )SQL" +
                    NewRowsFilter("n.{recommendations.id}", 1) + R"SQL(
          UNION
          SELECT n.{outcome_events.recommendation_id} FROM {outcome_events} n WHERE )SQL" +
                    NewRowsFilter("n.{outcome_events.id}", 4) + R"SQL())
    AND r.{recommendations.created_at} >= to_timestamp($7::bigint * 60)
  GROUP BY r.{recommendations.id}
)
SELECT model_version, minute, count(*) FILTER (WHERE is_new),
       sum(accepted::int - CASE WHEN is_new THEN 0 ELSE accepted_before::int END),
       sum(rejected::int - CASE WHEN is_new THEN 0 ELSE rejected_before::int END),
       sum(purchased::int - CASE WHEN is_new THEN 0 ELSE purchased_before::int END),
       sum(returned::int - CASE WHEN is_new THEN 0 ELSE returned_before::int END),
       sum(pending::int - CASE WHEN is_new THEN 0 ELSE pending_before::int END)
FROM flags GROUP BY 1, 2
)SQL");
}

CohortsCollector::CohortsCollector(const StoreConfig& store, CohortsConfig config,
                                   double cost_per_recommendation, StoreCollectorDeps deps)
    : WithSettings({config, cost_per_recommendation}, "cohorts", store, config.interval,
                   config.timeout, std::move(deps)),
      sql_(store.schema),
      recommendations_(sql_, "recommendations"),
      events_(sql_, "outcome_events") {
  // Late commits past store.late_commit_window reach the aggregates through the sweep.
  const SweepPace pace{config_.interval, store.reconcile_interval, store.sweep_ranges_per_cycle};
  recommendations_.SweepReleasedGaps(pace);
  events_.SweepReleasedGaps(pace);
}

Result<CohortBuckets> CohortsCollector::ReadBuckets(SnapshotReader& reader,
                                                    std::int64_t first_minute,
                                                    const NewRows& recommendations,
                                                    const NewRows& events, bool baseline) {
  CohortBuckets buckets;
  if (baseline) {
    Result<std::vector<Row>> rows =
        reader.Query("cohorts_baseline", BaselineSql(sql_), {std::to_string(first_minute)});
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) {
      Result<std::vector<std::int64_t>> values = ParseCounts(row, 1, 7, "cohorts_baseline");
      if (!values.ok()) return values.status();
      const std::vector<std::int64_t>& v = values.value();
      AddTo(buckets[{row[0].value_or(""), v[0]}], {v.begin() + 1, v.end()});
    }
    return buckets;
  }
  buckets = buckets_;
  const bool nothing_new = recommendations.upto == recommendations.after &&
                           recommendations.found_ids.empty() && events.upto == events.after &&
                           events.found_ids.empty();
  if (nothing_new) return buckets;
  std::vector<std::string> params = recommendations.Params();
  for (std::string& param : events.Params()) params.push_back(std::move(param));
  params.push_back(std::to_string(first_minute));
  Result<std::vector<Row>> rows = reader.Query("cohorts_delta", DeltaSql(sql_), params);
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    Result<std::vector<std::int64_t>> values = ParseCounts(row, 1, 7, "cohorts_delta");
    if (!values.ok()) return values.status();
    const std::vector<std::int64_t>& v = values.value();
    AddTo(buckets[{row[0].value_or(""), v[0]}], {v.begin() + 1, v.end()});
  }
  return buckets;
}

void CohortsCollector::LogSwept(const NewRows& recommendations, const NewRows& events) {
  const std::size_t swept = recommendations.swept_ids.size() + events.swept_ids.size();
  if (swept == 0) return;
  log().Info("the sweep found rows committed after store.late_commit_window",
             {{"collector", "cohorts"}, {"rows", std::to_string(swept)}});
}

Status CohortsCollector::Read(SnapshotReader& reader) {
  const std::vector<std::string> window = {Seconds(config_.lag), Seconds(config_.window)};
  Result<std::vector<Row>> bounds = reader.Query("cohorts_bounds", kBoundsSql, window);
  if (!bounds.ok()) return bounds.status();
  Result<std::vector<std::int64_t>> minutes =
      ParseCounts(bounds.value().at(0), 0, 2, "cohorts_bounds");
  if (!minutes.ok()) return minutes.status();
  const std::int64_t first_minute = minutes.value()[0];
  const std::int64_t last_minute = minutes.value()[1];

  Result<NewRows> recommendations = recommendations_.Read(reader, "cohorts_");
  if (!recommendations.ok()) return recommendations.status();
  Result<NewRows> events = events_.Read(reader, "cohorts_");
  if (!events.ok()) return events.status();
  const SteadyTime now = std::chrono::steady_clock::now();
  const bool baseline = recommendations.value().baseline || events.value().baseline;
  Result<CohortBuckets> buckets =
      ReadBuckets(reader, first_minute, recommendations.value(), events.value(), baseline);
  if (!buckets.ok()) return buckets.status();
  // The window only moves forward: minutes before its start are never read again.
  CohortBuckets& kept = buckets.value();
  std::erase_if(kept,
                [first_minute](const auto& entry) { return entry.first.second < first_minute; });

  std::vector<std::string> edge_params = window;
  edge_params.push_back(std::to_string(first_minute));
  edge_params.push_back(std::to_string(last_minute));
  Result<std::vector<Row>> edges = reader.Query("cohorts_edges", EdgesSql(sql_), edge_params);
  if (!edges.ok()) return edges.status();
  std::map<std::string, CohortCounts> by_version;
  for (const Row& row : edges.value()) {
    Result<std::vector<std::int64_t>> values = ParseCounts(row, 1, 6, "cohorts_edges");
    if (!values.ok()) return values.status();
    AddTo(by_version[row[0].value_or("")], values.value());
  }
  for (const auto& [key, counts] : kept) {
    if (key.second <= first_minute || key.second >= last_minute) continue;
    AddTo(by_version[key.first], {counts.recommendations, counts.accepted, counts.rejected,
                                  counts.purchased, counts.returned, counts.pending});
  }
  std::vector<Cohort> cohorts;
  for (const auto& [version, counts] : by_version) {
    if (counts.recommendations == 0) continue;
    cohorts.push_back({version, counts.recommendations, counts.accepted, counts.rejected,
                       counts.purchased, counts.returned, counts.pending});
  }

  Result<std::vector<Row>> first =
      reader.Query("model_versions_first_seen", FirstSeenSql(sql_), {});
  if (!first.ok()) return first.status();
  std::vector<std::pair<std::string, double>> first_seen;
  for (const Row& row : first.value()) {
    Result<double> seconds = ParseNumber(row.at(1), "model_versions_first_seen");
    if (!seconds.ok()) return seconds.status();
    first_seen.emplace_back(row.at(0).value_or(""), seconds.value());
  }

  LogSwept(recommendations.value(), events.value());
  if (baseline && recommendations_.initialized()) {
    log().Warn(
        "a table went back below the ids read (older backup restored?); the cohort aggregates "
        "are rebuilt from what the store holds now",
        {{"collector", "cohorts"}});
  }
  recommendations_.Commit(recommendations.value(), now, store_config().late_commit_window);
  events_.Commit(events.value(), now, store_config().late_commit_window);
  buckets_ = std::move(kept);
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

void AddCohortsCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (!config.store || !config.analytics || !config.analytics->cohorts) return;
  out.Add(std::make_shared<CohortsCollector>(*config.store, *config.analytics->cohorts,
                                             config.analytics->cost_per_recommendation,
                                             StoreDeps(context)));
}

}  // namespace outcomes
