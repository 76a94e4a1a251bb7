// `queries:` of the config file: metrics from custom SQL. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/core/duration.h"

namespace outcomes {

using namespace std::chrono_literals;

// `queries[].incremental` — count an append-only table exactly, past a watermark.
struct IncrementalQueryConfig {
  // The table whose new rows are read, e.g. orders. Required.
  std::string table;
  // Its bigint key as the query names it, e.g. o.id; the exporter puts the id condition where
  // the query says {filter}. Default: id.
  std::string id_column = "id";

  bool operator==(const IncrementalQueryConfig&) const = default;
};

// `queries[]` — a metric from any read-only SQL, in the sql_exporter manner.
struct QueryConfig {
  // Metric name; the collector is "query/<name>". Required; unique; not a built-in name.
  std::string name;
  // HELP text. Default: "Custom query <name>."
  std::string help;
  // gauge, counter or histogram. Default: gauge.
  std::string type = "gauge";
  // The SQL. Runs in a read-only transaction. Required.
  std::string sql;
  // Result columns exported as labels (NULL gives ""). Default: none.
  std::vector<std::string> labels;
  // Result columns exported as values. Required, at least one.
  std::vector<std::string> values;
  // With several value columns, the label that names the column. Default: column.
  std::string value_label = "column";
  // Labels added to every series. Default: none.
  std::vector<std::pair<std::string, std::string>> static_labels;
  // Default: 1m.
  Duration interval = 1min;
  // Default: 30s.
  Duration timeout = 30s;
  // Series kept per metric; the excess is dropped, counted and logged once. Default: 10000.
  std::int64_t max_series = 10'000;
  // Counts rows added to an append-only table instead of re-reading a gauge. Default: none.
  std::optional<IncrementalQueryConfig> incremental;
  // histogram only: upper bounds of the buckets, ascending, finite (+Inf is implied), and the
  // one column of `values` whose rows are counted into them. Required for a histogram.
  std::vector<double> buckets;

  bool operator==(const QueryConfig&) const = default;
};

}  // namespace outcomes
