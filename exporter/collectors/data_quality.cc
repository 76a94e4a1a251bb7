#include "exporter/collectors/data_quality.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

constexpr const char* kRecommendations = "recommendations";
constexpr const char* kEvents = "outcome_events";
constexpr const char* kFeedback = "feedback";

// "Is there an earlier event of this recommendation with status <status>": by the
// recommendation_id index, a few rows each.
std::string Earlier(const std::string& status) {
  return "EXISTS (SELECT 1 FROM {outcome_events} p WHERE p.{outcome_events.recommendation_id} = "
         "e.{outcome_events.recommendation_id} AND p.{outcome_events.id} < e.{outcome_events.id} "
         "AND p.{outcome_events.status} = " +
         status + ")";
}

constexpr const char* kRange = " > $1::bigint AND ";

std::string ArrayOfBounds(const std::vector<double>& bounds) {
  std::string out = "{";
  for (const double bound : bounds) {
    char text[32];
    auto* const end = std::to_chars(text, text + sizeof text, bound).ptr;
    out += (out.size() > 1 ? "," : "") + std::string(text, end);
  }
  return out + "}";
}

Result<std::int64_t> ParseCount(const std::optional<std::string>& text, const std::string& what) {
  std::int64_t value = 0;
  if (!text) return value;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return Status::Error(what + ": expected an integer, got \"" + *text + "\"");
  }
  return value;
}

Result<std::vector<std::int64_t>> ParseCounts(const Row& row, std::size_t first,
                                              std::size_t expected, const std::string& what) {
  if (row.size() != expected) return Status::Error(what + ": unexpected column count");
  std::vector<std::int64_t> values;
  for (std::size_t i = first; i < row.size(); ++i) {
    Result<std::int64_t> value = ParseCount(row[i], what);
    if (!value.ok()) return value.status();
    values.push_back(value.value());
  }
  return values;
}

// The highest id below which every id of the table is visible or given up: the watermark, or
// just below the first gap still re-checked above the ids judged.
std::int64_t SettledUpTo(const NewRowsTracker& tracker, std::int64_t judged) {
  std::int64_t settled = tracker.watermark();
  for (const IdRange& gap : tracker.gaps()) {
    if (gap.last > judged) {
      settled = std::min(settled, gap.first - 1);
      break;
    }
  }
  return std::max(settled, judged);
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& DataQualityChecks() {
  static const std::vector<std::pair<std::string, std::string>> kChecks = {
      {kEvents, "returned_without_purchase"},
      {kEvents, "purchased_without_acceptance"},
      {kEvents, "duplicate_status"},
      {kEvents, "before_recommendation"},
      {kRecommendations, "score_out_of_range"},
      {kFeedback, "feedback_without_outcome"},
  };
  return kChecks;
}

// Templates of SchemaSql (store.schema): {table}, {table.column}, {status:VALUE}.
std::string DataQualityCollector::EventsSql(const SchemaSql& sql) {
  const std::string status = sql.StatusLabel("e." + sql.Column(kEvents, "status"));
  return sql.Render(
      "SELECT r.{recommendations.model_version}, " + status +
      ", b.bucket, count(*), coalesce(sum(round(d.delay * 1000)), 0)::bigint, "
      "count(*) FILTER (WHERE e.{outcome_events.status} = {status:RETURNED} AND NOT " +
      Earlier("{status:PURCHASED}") +
      "), count(*) FILTER (WHERE e.{outcome_events.status} = {status:PURCHASED} AND NOT " +
      Earlier("{status:ACCEPTED}") + "), count(*) FILTER (WHERE " +
      Earlier("e.{outcome_events.status}") +
      "), count(*) FILTER (WHERE e.{outcome_events.occurred_at} < r.{recommendations.created_at}) "
      "FROM {outcome_events} e JOIN {recommendations} r ON r.{recommendations.id} = "
      "e.{outcome_events.recommendation_id} "
      "CROSS JOIN LATERAL (SELECT extract(epoch FROM e.{outcome_events.occurred_at} - "
      "r.{recommendations.created_at})::float8 AS delay) d "
      // The bucket is how many bounds lie below the delay. width_bucket() counts the bounds up
      // to it (they ascend), so a delay equal to a bound is taken back out; a third of the
      // statement's time went to a count over unnest() per row.
      "CROSS JOIN LATERAL (SELECT coalesce(width_bucket(d.delay, $3::float8[]) - "
      "(d.delay = ANY($3::float8[]))::int, 0) AS bucket) b "
      "WHERE e.{outcome_events.id}" +
      std::string(kRange) + "e.{outcome_events.id} <= $2::bigint GROUP BY 1, 2, 3");
}

// NaN is above every number in PostgreSQL, so NOT BETWEEN catches it too.
std::string DataQualityCollector::RecommendationsSql(const SchemaSql& sql) {
  return sql.Render(
      "SELECT count(*), count(*) FILTER (WHERE r.{recommendations.score} IS NULL OR NOT "
      "(r.{recommendations.score} BETWEEN 0 AND 1)) FROM {recommendations} r WHERE "
      "r.{recommendations.id}" +
      std::string(kRange) + "r.{recommendations.id} <= $2::bigint");
}

std::string DataQualityCollector::FeedbackSql(const SchemaSql& sql) {
  return sql.Render(
      "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {outcome_events} e "
      "WHERE e.{outcome_events.recommendation_id} = f.{feedback.recommendation_id})) FROM "
      "{feedback} f WHERE f.{feedback.id}" +
      std::string(kRange) + "f.{feedback.id} <= $2::bigint");
}

DataQualityCollector::DataQualityCollector(const StoreConfig& store,
                                           const DataQualityConfig& config, StoreCollectorDeps deps)
    : WithSettings(config, "data_quality", store, config.interval, config.timeout, std::move(deps)),
      sql_(store_config().schema) {
  for (const char* table : {kRecommendations, kEvents, kFeedback}) {
    tables_.push_back(Table{table, NewRowsTracker(sql_, table), 0});
    counts_.checked[table] = 0;
  }
  for (const auto& check : DataQualityChecks()) counts_.issues[check] = 0;
}

Status DataQualityCollector::JudgeEvents(SnapshotReader& reader, std::int64_t after,
                                         std::int64_t upto, Counts& counts) const {
  const std::string name = std::string("data_quality_") + kEvents;
  Result<std::vector<Row>> rows = reader.Query(
      name, EventsSql(sql_),
      {std::to_string(after), std::to_string(upto), ArrayOfBounds(config_.delay_buckets)});
  if (!rows.ok()) return rows.status();
  const std::size_t buckets = config_.delay_buckets.size() + 1;
  for (const Row& row : rows.value()) {
    Result<std::vector<std::int64_t>> values = ParseCounts(row, 2, 9, name);
    if (!values.ok()) return values.status();
    const std::vector<std::int64_t>& v = values.value();
    if (v[0] < 0 || v[0] >= static_cast<std::int64_t>(buckets)) {
      return Status::Error(name + ": bucket out of range");
    }
    Delays& delays = counts.delays[{row[0].value_or(""), row[1].value_or("")}];
    delays.counts.resize(buckets, 0);
    delays.counts[static_cast<std::size_t>(v[0])] += v[1];
    delays.sum_ms += v[2];
    counts.checked[kEvents] += v[1];
    for (std::size_t check = 0; check < 4; ++check) {
      counts.issues[DataQualityChecks()[check]] += v[3 + check];
    }
  }
  return Status::Ok();
}

// recommendations and feedback: one row of (rows, rows failing the table's one check).
Status DataQualityCollector::JudgeRows(SnapshotReader& reader, const std::string& table,
                                       std::int64_t after, std::int64_t upto,
                                       Counts& counts) const {
  const std::string name = "data_quality_" + table;
  const bool recommendations = table == kRecommendations;
  Result<std::vector<Row>> rows =
      reader.Query(name, recommendations ? RecommendationsSql(sql_) : FeedbackSql(sql_),
                   {std::to_string(after), std::to_string(upto)});
  if (!rows.ok()) return rows.status();
  if (rows.value().size() != 1) return Status::Error(name + ": expected one row");
  Result<std::vector<std::int64_t>> values = ParseCounts(rows.value()[0], 0, 2, name);
  if (!values.ok()) return values.status();
  counts.checked[table] += values.value()[0];
  counts.issues[DataQualityChecks()[recommendations ? 4 : 5]] += values.value()[1];
  return Status::Ok();
}

// Reads the table's new ids and judges those now settled. A first read, or a table gone back
// below its watermark, starts at its top: rows written before the exporter started are not
// judged.
Status DataQualityCollector::AdvanceTable(SnapshotReader& reader, Table& table, Counts& counts,
                                          SteadyTime now) {
  Result<NewRows> rows = table.tracker.Read(reader, "data_quality_");
  if (!rows.ok()) return rows.status();
  if (rows.value().baseline && table.tracker.initialized()) {
    log().Warn(
        "a table went back below the ids read (older backup restored?); data quality is judged "
        "from its new top on",
        {{"collector", "data_quality"}, {"table", table.name}});
  }
  const std::int64_t after = rows.value().baseline ? rows.value().upto : table.judged;
  table.tracker.Commit(rows.value(), now, store_config().late_commit_window);
  const std::int64_t upto = SettledUpTo(table.tracker, after);
  table.judged = upto;
  if (upto == after) return Status::Ok();
  return table.name == kEvents ? JudgeEvents(reader, after, upto, counts)
                               : JudgeRows(reader, table.name, after, upto, counts);
}

Status DataQualityCollector::Read(SnapshotReader& reader) {
  std::vector<Table> tables = tables_;
  Counts counts = counts_;
  const SteadyTime now = std::chrono::steady_clock::now();
  for (Table& table : tables) {
    Status status = AdvanceTable(reader, table, counts, now);
    if (!status.ok()) return status;
  }
  tables_ = std::move(tables);
  counts_ = std::move(counts);
  started_ = true;
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> DataQualityCollector::Families() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  if (!started_) return families;
  auto delay = MakeFamily("outcomes_event_delay_seconds",
                          "Time from a recommendation's creation to each of its outcome events, "
                          "for the events recorded since the exporter started.",
                          MetricType::Histogram);
  for (const auto& [key, delays] : counts_.delays) {
    AddSample(delay, {{"model_version", key.first}, {"status", key.second}}, 0);
    auto& histogram = delay.metric.back().histogram;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < delays.counts.size(); ++i) {
      cumulative += static_cast<std::uint64_t>(delays.counts[i]);
      const double bound = i < config_.delay_buckets.size()
                               ? config_.delay_buckets[i]
                               : std::numeric_limits<double>::infinity();
      histogram.bucket.push_back({cumulative, bound});
    }
    histogram.sample_count = cumulative;
    histogram.sample_sum = static_cast<double>(delays.sum_ms) / 1000.0;
  }
  if (!delay.metric.empty()) families.push_back(std::move(delay));

  auto checked =
      MakeFamily("outcomes_data_quality_checked_total",
                 "Rows checked for data quality, since the exporter started.", MetricType::Counter);
  for (const auto& [table, rows] : counts_.checked) {
    AddSample(checked, {{"table", table}}, static_cast<double>(rows));
  }
  families.push_back(std::move(checked));
  auto issues = MakeFamily("outcomes_data_quality_issues_total",
                           "Rows checked that fail a data-quality check (see docs/METRICS.md).",
                           MetricType::Counter);
  for (const auto& [check, rows] : counts_.issues) {
    AddSample(issues, {{"table", check.first}, {"check", check.second}}, static_cast<double>(rows));
  }
  families.push_back(std::move(issues));
  auto judged = MakeFamily("outcomes_data_quality_checked_up_to_id",
                           "Highest id checked per table: every lower id is visible or older "
                           "than store.late_commit_window.",
                           MetricType::Gauge);
  for (const Table& table : tables_) {
    AddSample(judged, {{"table", table.name}}, static_cast<double>(table.judged));
  }
  families.push_back(std::move(judged));
  return families;
}

void AddDataQualityCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (!config.store || !config.analytics || !config.analytics->data_quality) return;
  out.Add(std::make_shared<DataQualityCollector>(*config.store, *config.analytics->data_quality,
                                                 StoreDeps(context)));
}

}  // namespace outcomes
