#include <algorithm>
#include <set>

#include "exporter/config/metric_names.h"
#include "exporter/config/section_readers.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

// A histogram query counts one value column into its buckets; the buckets belong to it only.
void ValidateHistogramQuery(MapReader& reader, const QueryConfig& query, ErrorList& errors) {
  const auto& buckets = query.buckets;
  if (query.type != "histogram") {
    if (!buckets.empty()) {
      errors.Add(reader.MarkOf("buckets"),
                 reader.Qualified("buckets") + ": only for type histogram");
    }
    return;
  }
  if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
      std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()) {
    errors.Add(reader.MarkOf("buckets"), reader.Qualified("buckets") +
                                             ": a histogram needs a non-empty, strictly "
                                             "ascending list");
  }
  if (query.values.size() > 1) {
    errors.Add(reader.MarkOf("values"),
               reader.Qualified("values") + ": a histogram counts exactly one value column");
  }
}

}  // namespace

std::vector<QueryConfig> ReadQueries(const YAML::Node& node, ErrorList& errors,
                                     const EnvLookup& env) {
  std::set<std::string> names;
  return ReadList<QueryConfig>(
      node, "queries", errors, env, [&](MapReader& reader, QueryConfig& query) {
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
        if (auto incremental = reader.Nested("incremental")) {
          IncrementalQueryConfig config;
          incremental->String("table", config.table, /*required=*/true);
          incremental->String("id_column", config.id_column);
          incremental->RejectUnknownKeys();
          const std::string key = config.id_column.substr(config.id_column.rfind('.') + 1);
          if (!ValidMetricName(key)) {
            errors.Add(incremental->MarkOf("id_column"),
                       incremental->Qualified("id_column") + ": not a column name");
          }
          query.incremental = config;
        }
        if (!reader.valid()) return;
        if (!query.name.empty() && !ValidMetricName(query.name)) {
          errors.Add(reader.MarkOf("name"),
                     reader.Qualified("name") + ": \"" + query.name +
                         "\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
        } else if (IsReservedMetricName(query.name)) {
          errors.Add(reader.MarkOf("name"), reader.Qualified("name") + ": \"" + query.name +
                                                "\" collides with a built-in metric");
        } else if (!query.name.empty() && !names.insert(query.name).second) {
          errors.Add(reader.MarkOf("name"),
                     reader.Qualified("name") + ": duplicate name \"" + query.name + "\"");
        }
        if (query.type != "gauge" && query.type != "counter" && query.type != "histogram") {
          errors.Add(reader.MarkOf("type"),
                     reader.Qualified("type") + ": want gauge, counter or histogram");
        }
        ValidateHistogramQuery(reader, query, errors);
        if (query.values.empty()) {
          errors.Add(reader.MarkOf("values"),
                     reader.Qualified("values") + ": list at least one column");
        }
        std::set<std::string> label_names;
        const auto check_label = [&](const std::string& key, const std::string& label) {
          if (!ValidLabelName(label)) {
            errors.Add(reader.MarkOf(key),
                       reader.Qualified(key) + ": \"" + label + "\" is not a valid label name");
          } else if (!label_names.insert(label).second) {
            errors.Add(reader.MarkOf(key),
                       reader.Qualified(key) + ": label \"" + label + "\" is given twice");
          }
        };
        for (const std::string& label : query.labels) check_label("labels", label);
        for (const auto& [label, value] : query.static_labels) check_label("static_labels", label);
        if (query.values.size() > 1) check_label("value_label", query.value_label);
        RequirePositive(reader, "interval", query.interval, errors);
        RequirePositive(reader, "timeout", query.timeout, errors);
        if (query.max_series < 1) {
          errors.Add(reader.MarkOf("max_series"),
                     reader.Qualified("max_series") + ": must be at least 1");
        }
        const bool has_filter = query.sql.find("{filter}") != std::string::npos;
        if (query.incremental && query.type == "gauge") {
          errors.Add(reader.MarkOf("type"), reader.Qualified("type") +
                                                ": an incremental query exports a counter or a "
                                                "histogram");
        }
        if (query.incremental && !has_filter) {
          errors.Add(reader.MarkOf("sql"), reader.Qualified("sql") +
                                               ": an incremental query says where the id condition "
                                               "goes with {filter} (e.g. WHERE {filter})");
        }
        if (!query.incremental && has_filter) {
          errors.Add(reader.MarkOf("sql"),
                     reader.Qualified("sql") + ": {filter} is only for incremental queries");
        }
      });
}

}  // namespace outcomes
