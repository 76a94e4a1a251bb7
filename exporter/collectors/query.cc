#include "exporter/collectors/query.h"

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

}  // namespace

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

QueryCollector::QueryCollector(const StoreConfig& store, QueryConfig config,
                               const StoreCollectorDeps& deps)
    : SqlCollector("query/" + config.name, store, config.interval, config.timeout, deps),
      config_(std::move(config)),
      now_(deps.now) {
  if (config_.incremental) {
    TableSpec spec;
    spec.table = config_.incremental->table;
    spec.id_column = config_.incremental->id_column;
    spec.key = spec.id_column.substr(spec.id_column.rfind('.') + 1);
    // Group the user's rows by label set, so the ledger gets one row per series.
    std::string labels;
    std::string sums;
    for (std::size_t i = 0; i < config_.labels.size(); ++i) {
      labels += (labels.empty() ? "" : ", ") + std::to_string(i + 1);
    }
    for (const std::string& column : config_.values) {
      sums += (sums.empty() ? "" : ", ") + ("sum(" + QuoteIdentifier(column) + ")::bigint");
    }
    std::string label_columns;
    for (const std::string& column : config_.labels) {
      label_columns += "coalesce(" + QuoteIdentifier(column) + "::text, ''), ";
    }
    spec.aggregate_sql = "SELECT " + label_columns + sums + " FROM (" + config_.sql +
                         "\n) AS custom_query" + (labels.empty() ? "" : " GROUP BY " + labels);
    spec.label_count = config_.labels.size();
    spec.merges.assign(config_.values.size(), Merge::kSum);
    spec_ = spec;
    ledger_.emplace(spec.merges);
  }
}

bool QueryCollector::SameConfig(const Collector& other) const {
  const auto* same = dynamic_cast<const QueryCollector*>(&other);
  return same != nullptr && same->config_ == config_ && same->store_config() == store_config();
}

Status QueryCollector::Read(SnapshotReader& reader) {
  Status status = config_.incremental ? ReadIncremental(reader) : ReadGauge(reader);
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
        return Status::Error("query " + config_.name + ": column " + config_.values[v] +
                             " is NULL in row " + std::to_string(r + 1) +
                             " (use coalesce() or filter the row)");
      }
      Result<double> value =
          ParseNumber(cell, "query " + config_.name + ": column " + config_.values[v]);
      if (!value.ok()) return value.status();
      values.push_back(value.value());
    }
    if (!series.emplace(label_values, values).second) {
      return Status::Error(
          "query " + config_.name +
          ": two rows have the same labels; group the result by every label column");
    }
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

std::vector<prometheus::MetricFamily> QueryCollector::Families() const {
  const auto type =
      config_.type == "counter" ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
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
    for (std::size_t v = 0; v < values.size() && exported < limit; ++v) {
      Labels series_labels;
      for (std::size_t i = 0; i < labels.size(); ++i)
        series_labels.emplace_back(config_.labels[i], labels[i]);
      for (const auto& static_label : config_.static_labels) series_labels.push_back(static_label);
      if (values.size() > 1) series_labels.emplace_back(config_.value_label, config_.values[v]);
      AddSample(family, series_labels, values[v]);
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

}  // namespace outcomes
