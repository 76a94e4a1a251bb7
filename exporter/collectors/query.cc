#include "exporter/collectors/query.h"

#include <cstdio>
#include <limits>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

// A double-quoted SQL identifier, so that any column name the user wrote is matched exactly.
std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A bucket bound as a float8 literal that reads back as the same double.
std::string Float8Literal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return "'" + std::string(text) + "'::float8";
}

// "coalesce(label::text, ''), " for each label column, and the GROUP BY clause over them.
std::string LabelColumns(const QueryConfig& config) {
  std::string columns;
  for (const std::string& column : config.labels) {
    columns += "coalesce(" + QuoteIdentifier(column) + "::text, ''), ";
  }
  return columns;
}

std::string GroupByLabels(const QueryConfig& config) {
  std::string positions;
  for (std::size_t i = 0; i < config.labels.size(); ++i) {
    positions += (positions.empty() ? "" : ", ") + std::to_string(i + 1);
  }
  return positions.empty() ? "" : " GROUP BY " + positions;
}

}  // namespace

std::string QueryCollector::HistogramSql(const QueryConfig& config) {
  const std::string value = QuoteIdentifier(config.values.front()) + "::float8";
  std::string aggregates = "count(*)";
  for (const double bound : config.buckets) {
    aggregates += ", count(*) FILTER (WHERE " + value + " <= " + Float8Literal(bound) + ")";
  }
  // The ledger holds integers: an incremental histogram sums each value rounded to a
  // millionth, so that increments and full recounts add up to the same exact total.
  aggregates +=
      config.incremental
          ? ", coalesce(sum(round(" + QuoteIdentifier(config.values.front()) + "::numeric * " +
                std::to_string(static_cast<std::int64_t>(kIncrementalSumScale)) + ")), 0)::bigint"
          : ", coalesce(sum(" + value + "), 0)";
  // Rows without a value are not observations: they count in no bucket and not in _count.
  return "SELECT " + LabelColumns(config) + aggregates + " FROM (" + config.sql +
         "\n) AS custom_query WHERE " + QuoteIdentifier(config.values.front()) + " IS NOT NULL" +
         GroupByLabels(config);
}

std::string QueryCollector::WrappedSql(const QueryConfig& config) {
  std::string columns;
  for (const std::string& column : config.labels) {
    columns +=
        (columns.empty() ? "" : ", ") + ("coalesce(" + QuoteIdentifier(column) + "::text, '')");
  }
  for (const std::string& column : config.values) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(column);
  }
  return "SELECT " + columns + " FROM (" + config.sql + "\n) AS custom_query";
}

QueryCollector::QueryCollector(const StoreConfig& store, const QueryConfig& config,
                               const StoreCollectorDeps& deps)
    : WithSettings(config, "query/" + config.name, store, config.interval, config.timeout, deps),
      now_(deps.now) {
  if (config_.incremental) {
    TableSpec spec;
    spec.table = config_.incremental->table;
    spec.id_column = config_.incremental->id_column;
    spec.key = spec.id_column.substr(spec.id_column.rfind('.') + 1);
    // Group the user's rows by label set, so the ledger gets one row per series.
    std::string sums;
    for (const std::string& column : config_.values) {
      sums += (sums.empty() ? "" : ", ") + ("sum(" + QuoteIdentifier(column) + ")::bigint");
    }
    spec.aggregate_sql = histogram()
                             ? HistogramSql(config_)
                             : "SELECT " + LabelColumns(config_) + sums + " FROM (" + config_.sql +
                                   "\n) AS custom_query" + GroupByLabels(config_);
    spec.label_count = config_.labels.size();
    // A histogram's columns: its count, one per bucket, its sum; all add up.
    spec.merges.assign(histogram() ? config_.buckets.size() + 2 : config_.values.size(),
                       Merge::kSum);
    spec_ = spec;
    ledger_.emplace(spec.merges);
  }
}

Status QueryCollector::Read(SnapshotReader& reader) {
  Status status = config_.incremental ? ReadIncremental(reader)
                  : histogram()       ? ReadHistogram(reader)
                                      : ReadGauge(reader);
  if (status.ok()) CountDropped();
  return status;
}

void QueryCollector::CountDropped() {
  std::size_t total = 0;
  if (ledger_) {
    total = ledger_->values().size() * config_.values.size();
  } else {
    total = series_.size() * config_.values.size();
  }
  const auto limit = static_cast<std::size_t>(config_.max_series);
  dropped_ = total > limit ? total - limit : 0;
  if (dropped_ > 0 && !warned_about_cardinality_) {
    warned_about_cardinality_ = true;
    log().Warn("query result exceeds max_series; the excess series are dropped",
               {{"collector", name()},
                {"max_series", std::to_string(limit)},
                {"dropped", std::to_string(dropped_)}});
  }
}

Status QueryCollector::ReadGauge(SnapshotReader& reader) {
  Result<std::vector<Row>> rows = reader.Query(config_.name, WrappedSql(config_), {});
  if (!rows.ok()) return rows.status();
  std::map<LabelValues, std::vector<double>> series;
  const std::size_t label_count = config_.labels.size();
  for (std::size_t r = 0; r < rows.value().size(); ++r) {
    const Row& row = rows.value()[r];
    LabelValues label_values;
    for (std::size_t i = 0; i < label_count; ++i) label_values.push_back(row[i].value_or(""));
    std::vector<double> values;
    for (std::size_t v = 0; v < config_.values.size(); ++v) {
      const std::optional<std::string>& cell = row[label_count + v];
      if (!cell) {
        return Status::Error(ErrorPrefix() + "column " + config_.values[v] + " is NULL in row " +
                             std::to_string(r + 1) + " (use coalesce() or filter the row)");
      }
      Result<double> value = ParseNumber(cell, ErrorPrefix() + "column " + config_.values[v]);
      if (!value.ok()) return value.status();
      values.push_back(value.value());
    }
    if (!series.emplace(label_values, values).second) {
      return Status::Error(ErrorPrefix() +
                           "two rows have the same labels; group the result by every label column");
    }
  }
  series_ = std::move(series);
  return Status::Ok();
}

Status QueryCollector::ReadHistogram(SnapshotReader& reader) {
  Result<std::vector<Row>> rows = reader.Query(config_.name, HistogramSql(config_), {});
  if (!rows.ok()) return rows.status();
  std::map<LabelValues, std::vector<double>> series;
  const std::size_t label_count = config_.labels.size();
  for (const Row& row : rows.value()) {
    LabelValues label_values;
    for (std::size_t i = 0; i < label_count; ++i) label_values.push_back(row[i].value_or(""));
    std::vector<double> values;
    for (std::size_t v = label_count; v < row.size(); ++v) {
      Result<double> value = ParseNumber(row[v], ErrorPrefix() + "histogram column");
      if (!value.ok()) return value.status();
      values.push_back(value.value());
    }
    series[label_values] = std::move(values);
  }
  series_ = std::move(series);
  return Status::Ok();
}

Status QueryCollector::ReadIncremental(SnapshotReader& reader) {
  const auto now = now_();
  const bool full_count =
      !last_full_count_ || now - *last_full_count_ >= store_config().reconcile_interval;
  Result<FullCountReport> report =
      outcomes::ReadIncremental(reader, *spec_, *ledger_, full_count, now);
  if (!report.ok()) return report.status();
  LogRecount(log(), name(), spec_->table, report.value());
  if (full_count) last_full_count_ = now;
  ledger_->ExpireGaps(now, store_config().late_commit_window);
  ledger_->LimitGaps(kMaxGapRanges);
  return Status::Ok();
}

void QueryCollector::AddHistogram(prometheus::MetricFamily& family, const Labels& labels,
                                  const std::vector<double>& values) const {
  AddSample(family, labels, 0);
  prometheus::ClientMetric::Histogram& histogram = family.metric.back().histogram;
  const auto count = static_cast<std::uint64_t>(values.front());
  for (std::size_t i = 0; i < config_.buckets.size(); ++i) {
    histogram.bucket.push_back({static_cast<std::uint64_t>(values[i + 1]), config_.buckets[i]});
  }
  histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
  histogram.sample_count = count;
  histogram.sample_sum = config_.incremental ? values.back() / kIncrementalSumScale : values.back();
}

std::vector<prometheus::MetricFamily> QueryCollector::Families() const {
  const auto type = config_.type == "counter"     ? prometheus::MetricType::Counter
                    : config_.type == "histogram" ? prometheus::MetricType::Histogram
                                                  : prometheus::MetricType::Gauge;
  auto family =
      MakeFamily(config_.name,
                 config_.help.empty() ? "Custom query " + config_.name + "." : config_.help, type);
  // Both modes end up as label values -> one value per value column.
  std::map<LabelValues, std::vector<double>> all;
  if (ledger_) {
    for (const auto& [labels, values] : ledger_->values()) {
      all[labels] = std::vector<double>(values.begin(), values.end());
    }
  } else {
    all = series_;
  }
  const auto limit = static_cast<std::size_t>(config_.max_series);
  std::size_t exported = 0;
  for (const auto& [labels, values] : all) {
    Labels series_labels;
    for (std::size_t i = 0; i < labels.size(); ++i)
      series_labels.emplace_back(config_.labels[i], labels[i]);
    for (const auto& static_label : config_.static_labels) series_labels.push_back(static_label);
    if (histogram()) {
      if (exported++ < limit) AddHistogram(family, series_labels, values);
      continue;
    }
    for (std::size_t v = 0; v < values.size() && exported < limit; ++v) {
      Labels value_labels = series_labels;
      if (values.size() > 1) value_labels.emplace_back(config_.value_label, config_.values[v]);
      AddSample(family, value_labels, values[v]);
      ++exported;
    }
  }
  std::vector<prometheus::MetricFamily> families;
  if (!family.metric.empty()) families.push_back(std::move(family));
  auto dropped_family = MakeFamily("outcomes_exporter_query_series_dropped",
                                   "Series of the query's metric dropped by its max_series limit.",
                                   prometheus::MetricType::Gauge);
  AddSample(dropped_family, {{"query", config_.name}}, static_cast<double>(dropped_));
  families.push_back(std::move(dropped_family));
  return families;
}

void AddQueryCollectors(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (!config.store) return;
  for (const QueryConfig& query : config.queries) {
    out.Add(std::make_shared<QueryCollector>(*config.store, query, StoreDeps(context)));
  }
}

}  // namespace outcomes
