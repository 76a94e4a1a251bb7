#include "exporter/config/queries_config.h"

#include <algorithm>
#include <set>

#include "exporter/config/metric_names.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

void ReadIncremental(MapReader& reader, QueryConfig& query) {
  auto incremental = reader.Nested("incremental");
  if (!incremental) return;
  IncrementalQueryConfig config;
  incremental->String("table", config.table, /*required=*/true);
  incremental->String("id_column", config.id_column);
  incremental->RejectUnknownKeys();
  const std::string key = config.id_column.substr(config.id_column.rfind('.') + 1);
  if (!ValidColumnName(key)) incremental->Error("id_column", "not a column name");
  query.incremental = config;
}

void ReadQueryFields(MapReader& reader, QueryConfig& query) {
  reader.String("name", query.name, /*required=*/true);
  reader.String("help", query.help);
  reader.String("type", query.type);
  reader.String("sql", query.sql, /*required=*/true);
  reader.StringList("labels", query.labels);
  reader.StringList("values", query.values);
  reader.String("value_label", query.value_label);
  reader.StringMap("static_labels", query.static_labels);
  reader.DurationField("interval", query.interval);
  reader.DurationField("timeout", query.timeout);
  reader.Int64("max_series", query.max_series);
  reader.BucketList("buckets", query.buckets);
  ReadIncremental(reader, query);
}

// A histogram query counts one value column into its buckets; the buckets belong to it only.
void ValidateHistogramQuery(MapReader& reader, const QueryConfig& query) {
  const auto& buckets = query.buckets;
  if (query.type != "histogram") {
    if (!buckets.empty()) reader.Error("buckets", "only for type histogram");
    return;
  }
  if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
      std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()) {
    reader.Error("buckets", "a histogram needs a non-empty, strictly ascending list");
  }
  if (query.values.size() > 1)
    reader.Error("values", "a histogram counts exactly one value column");
}

// Every label the query exports: a valid name, given once.
void ValidateLabels(MapReader& reader, const QueryConfig& query) {
  std::set<std::string> label_names;
  const auto check_label = [&](const std::string& key, const std::string& label) {
    if (!ValidLabelName(label)) {
      reader.Error(key, "\"" + label + "\" is not a valid label name");
    } else if (!label_names.insert(label).second) {
      reader.Error(key, "label \"" + label + "\" is given twice");
    }
  };
  for (const std::string& label : query.labels) check_label("labels", label);
  for (const auto& [label, value] : query.static_labels) check_label("static_labels", label);
  if (query.values.size() > 1) check_label("value_label", query.value_label);
}

// {filter} and `incremental` go together, and an incremental query counts.
void ValidateIncremental(MapReader& reader, const QueryConfig& query) {
  const bool has_filter = query.sql.find("{filter}") != std::string::npos;
  if (query.incremental && query.type == "gauge") {
    reader.Error("type", "an incremental query exports a counter or a histogram");
  }
  if (query.incremental && !has_filter) {
    reader.Error("sql",
                 "an incremental query says where the id condition goes with {filter} (e.g. "
                 "WHERE {filter})");
  }
  if (!query.incremental && has_filter)
    reader.Error("sql", "{filter} is only for incremental queries");
}

void ValidateQuery(MapReader& reader, const QueryConfig& query, std::set<std::string>& names) {
  if (std::string problem = UserMetricNameProblem(query.name); !problem.empty()) {
    reader.Error("name", problem);
  } else if (!query.name.empty() && !names.insert(query.name).second) {
    reader.Error("name", "duplicate name \"" + query.name + "\"");
  }
  if (query.type != "gauge" && query.type != "counter" && query.type != "histogram") {
    reader.Error("type", "want gauge, counter or histogram");
  }
  ValidateHistogramQuery(reader, query);
  if (query.values.empty()) reader.Error("values", "list at least one column");
  ValidateLabels(reader, query);
  RequirePositive(reader, "interval", query.interval);
  RequirePositive(reader, "timeout", query.timeout);
  if (query.max_series < 1) reader.Error("max_series", "must be at least 1");
  ValidateIncremental(reader, query);
}

}  // namespace

std::vector<QueryConfig> ReadQueries(MapReader& root) {
  std::set<std::string> names;
  return root.List<QueryConfig>("queries", [&](MapReader& reader, QueryConfig& query) {
    ReadQueryFields(reader, query);
    if (reader.valid()) ValidateQuery(reader, query, names);
  });
}

}  // namespace outcomes
