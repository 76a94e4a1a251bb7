// The YAML side of the config loaders (the config file and the web config file): the document
// checks yaml-cpp does not make, and MapReader, which reads one mapping's fields and reports
// every problem with its file:line:column into the file's ErrorList. Not thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/config/env_and_files.h"
#include "exporter/config/error_list.h"
#include "exporter/core/duration.h"

namespace outcomes {

// The text as yaml-cpp counts positions in it: without a UTF-8 byte order mark.
std::string_view WithoutBom(std::string_view yaml);
// Refuses what yaml-cpp accepts but a config file must not be: a top level that is not a
// mapping, a second document, a quoted value that does not close on its line. False if it
// found a problem (added to `errors`).
bool CheckDocument(std::string_view yaml, ErrorList& errors);
// Where the quoted scalar still open at the end of the file opens, if any: yaml-cpp's "illegal
// EOF in scalar" points at the end instead.
std::optional<YAML::Mark> FindUnclosedQuote(std::string_view text);

// How a file's values are spelled; every reader of one file shares them.
struct YamlDialect {
  // Where ${VAR} in strings, durations and string maps come from; null: values are literal.
  // Default: null.
  const EnvLookup* env = nullptr;
  // Go's yaml.v2, which the exporter-toolkit decodes with: YAML 1.1 booleans (yes, on, y, ...),
  // a sign before integers, and Go's words after our messages. Default: false (true/false,
  // plain digits).
  bool go_yaml = false;
};

// An integer as `dialect` spells it: digits with an optional minus, or for Go any sign; out of
// range is false.
bool ParseInteger(const std::string& text, std::int64_t& out, const YamlDialect& dialect);

// Reads the fields of one YAML mapping, remembering which keys were used so that unknown keys
// can be reported with their own position. A reader that is not on a mapping reports that once
// and then reads nothing.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, ErrorList& errors, YamlDialect dialect);

  bool valid() const { return valid_; }
  std::string Qualified(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  ErrorList& errors() { return errors_; }
  const YamlDialect& dialect() const { return dialect_; }

  // The node for `key`, or an undefined node; marks the key as known.
  YAML::Node Get(const std::string& key);
  // Whether `key` is there with a non-null value.
  bool Has(const std::string& key);
  YAML::Mark Mark() const { return node_.Mark(); }
  // The position of `key`'s value, or of this mapping when the key is absent.
  YAML::Mark MarkOf(const std::string& key);

  // Reports "<path>.<key>: <message>" at the key's value.
  void Error(const std::string& key, const std::string& message);
  // Reports "<path>: <message>" at this mapping.
  void ErrorHere(const std::string& message);

  // Each reads `key` into `out` when the key is there; a wrong value is reported and leaves
  // `out` as it was.
  void String(const std::string& key, std::string& out, bool required = false);
  void DurationField(const std::string& key, Duration& out);
  void Bool(const std::string& key, bool& out);
  void Int64(const std::string& key, std::int64_t& out);
  void Double(const std::string& key, double& out);
  void IntList(const std::string& key, std::vector<int>& out);
  // Upper bounds of a histogram. All or nothing: one bad item keeps the default, so that
  // only that item is reported.
  void BucketList(const std::string& key, std::vector<double>& out);
  void StringList(const std::string& key, std::vector<std::string>& out);
  // A mapping of strings, in file order.
  void StringMap(const std::string& key, std::vector<std::pair<std::string, std::string>>& out);

  // A reader for the nested mapping at `key`, or nullopt when the key is absent or null.
  std::optional<MapReader> Nested(const std::string& key);
  // The list at `key` read with `read_one(MapReader& entry, T& out)` per entry; entries that
  // are not mappings are left out. Empty when the key is absent or null.
  template <typename T, typename ReadOne>
  std::vector<T> List(const std::string& key, ReadOne read_one);

  // Reports the keys nobody asked for; call after reading every known field.
  void RejectUnknownKeys();

 private:
  // The scalar with ${VAR} expanded (when the dialect has an environment), or nullopt after
  // reporting why not.
  std::optional<std::string> Expanded(const YAML::Node& value, const std::string& where);

  YAML::Node node_;
  std::string path_;
  ErrorList& errors_;
  YamlDialect dialect_;
  std::set<std::string> known_;
  bool valid_ = true;
};

template <typename T, typename ReadOne>
std::vector<T> MapReader::List(const std::string& key, ReadOne read_one) {
  std::vector<T> out;
  const YAML::Node list = Get(key);
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    Error(key, "expected a list");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    MapReader entry(list[i], Qualified(key) + "[" + std::to_string(i) + "]", errors_, dialect_);
    T value;
    read_one(entry, value);
    entry.RejectUnknownKeys();
    if (entry.valid()) out.push_back(std::move(value));
  }
  return out;
}

// Reports `key` unless `value` is greater than 0.
void RequirePositive(MapReader& reader, const std::string& key, Duration value);
// Reports `key` unless 0 < `value` < 1.
void RequireFraction(MapReader& reader, const std::string& key, double value);

}  // namespace outcomes
