// The YAML side of the config loader: the document checks yaml-cpp does not make, and the
// MapReader that reads one mapping's fields with file:line:column errors. Not thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
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

// The longest duration any setting takes: timers count nanoseconds in 64 bits (about 292
// years from the clock's epoch) and libpq's connect_timeout is an int of seconds.
constexpr Duration kLongestDuration = std::chrono::hours(24 * 365 * 10);

bool ParseInteger(const std::string& text, std::int64_t& out);

// Where the quoted scalar still open at the end of the file opens, if any.
std::optional<YAML::Mark> FindUnclosedQuote(std::string_view text);
// The text as yaml-cpp counts positions in it: without a UTF-8 byte order mark.
std::string_view WithoutBom(std::string_view yaml);
// Runs DocumentCheck over `yaml`; false if it found a problem.
bool CheckDocument(std::string_view yaml, ErrorList& errors);

// Reads the fields of one YAML mapping, remembering which keys were used so that unknown
// keys can be reported with their own position.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, ErrorList& errors, const EnvLookup& env)
      : node_(node), path_(std::move(path)), errors_(errors), env_(env) {
    if (!node_.IsMap()) {
      errors_.Add(node_.Mark(), path_ + ": expected a mapping");
      valid_ = false;
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!seen.insert(key).second) {
        errors_.Add(entry.first.Mark(), Qualified(key) + ": duplicate key");
      }
    }
  }

  bool valid() const { return valid_; }
  std::string Qualified(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  // The node for `key`, or an undefined node; marks the key as known.
  YAML::Node Get(const std::string& key) {
    known_.insert(key);
    if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
    for (const auto& entry : node_) {
      if (entry.first.as<std::string>() == key) return entry.second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  void String(const std::string& key, std::string& out, bool required = false) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) {
      if (required) errors_.Add(node_.Mark(), Qualified(key) + ": required");
      return;
    }
    if (!value.IsScalar()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a string");
      return;
    }
    Result<std::string> expanded = ExpandEnv(value.Scalar(), env_);
    if (!expanded.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + expanded.error());
      return;
    }
    out = std::move(expanded).value();
  }

  void DurationField(const std::string& key, Duration& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsScalar()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a duration such as 15s");
      return;
    }
    Result<std::string> expanded = ExpandEnv(value.Scalar(), env_);
    if (!expanded.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + expanded.error());
      return;
    }
    Result<Duration> parsed = ParseDuration(expanded.value());
    if (!parsed.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + parsed.error());
      return;
    }
    if (parsed.value() > kLongestDuration) {
      errors_.Add(value.Mark(), Qualified(key) + ": must be at most " +
                                    FormatDuration(kLongestDuration) +
                                    " (timers and libpq cannot count further)");
      return;
    }
    out = parsed.value();
  }

  void Bool(const std::string& key, bool& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false")) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected true or false");
      return;
    }
    out = value.Scalar() == "true";
  }

  void Int64(const std::string& key, std::int64_t& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    std::int64_t parsed = 0;
    if (!value.IsScalar() || !ParseInteger(value.Scalar(), parsed)) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected an integer");
      return;
    }
    out = parsed;
  }

  void Double(const std::string& key, double& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (std::optional<double> number = FiniteNumber(value)) {
      out = *number;
    } else {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a finite number");
    }
  }

  void IntList(const std::string& key, std::vector<int>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of integers");
      return;
    }
    out.clear();
    for (const auto& item : value) {
      std::int64_t parsed = 0;
      if (!item.IsScalar() || !ParseInteger(item.Scalar(), parsed) || parsed < 0 || parsed > 999) {
        errors_.Add(item.Mark(), Qualified(key) + ": expected an HTTP status code");
        continue;
      }
      out.push_back(static_cast<int>(parsed));
    }
  }

  // Upper bounds of a histogram. All or nothing: one bad item keeps the default, so that
  // only that item is reported.
  void BucketList(const std::string& key, std::vector<double>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of numbers");
      return;
    }
    std::vector<double> buckets;
    bool valid = true;
    for (const auto& item : value) {
      if (std::optional<double> number = FiniteNumber(item)) {
        buckets.push_back(*number);
      } else {
        errors_.Add(
            item.Mark(),
            Qualified(key) + ": expected a finite number (the +Inf bucket is always there)");
        valid = false;
      }
    }
    if (valid) out = std::move(buckets);
  }

  void StringList(const std::string& key, std::vector<std::string>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of strings");
      return;
    }
    out.clear();
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        errors_.Add(item.Mark(), Qualified(key) + ": expected a string");
        continue;
      }
      out.push_back(item.Scalar());
    }
  }

  // A mapping of strings, in file order; values expand ${VAR}.
  void StringMap(const std::string& key, std::vector<std::pair<std::string, std::string>>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsMap()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a mapping of strings");
      return;
    }
    for (const auto& entry : value) {
      if (!entry.second.IsScalar()) {
        errors_.Add(entry.second.Mark(),
                    Qualified(key) + "." + entry.first.Scalar() + ": expected a string");
        continue;
      }
      Result<std::string> expanded = ExpandEnv(entry.second.Scalar(), env_);
      if (!expanded.ok()) {
        errors_.Add(entry.second.Mark(),
                    Qualified(key) + "." + entry.first.Scalar() + ": " + expanded.error());
        continue;
      }
      out.emplace_back(entry.first.Scalar(), std::move(expanded).value());
    }
  }

  // A reader for the nested mapping at `key`, or nullopt when the key is absent.
  std::optional<MapReader> Nested(const std::string& key) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return std::nullopt;
    return MapReader(value, Qualified(key), errors_, env_);
  }

  // Reports the keys nobody asked for; call after reading every known field.
  void RejectUnknownKeys() {
    if (!valid_) return;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!known_.contains(key)) {
        errors_.Add(entry.first.Mark(), Qualified(key) + ": unknown key");
      }
    }
  }

  YAML::Mark Mark() const { return node_.Mark(); }
  YAML::Mark MarkOf(const std::string& key) {
    const YAML::Node value = Get(key);
    return value.IsDefined() ? value.Mark() : node_.Mark();
  }

 private:
  // .inf and .nan are numbers to YAML but no setting of ours can use them.
  static std::optional<double> FiniteNumber(const YAML::Node& node) {
    if (!node.IsScalar()) return std::nullopt;
    try {
      const auto number = node.as<double>();
      if (std::isfinite(number)) return number;
    } catch (const YAML::Exception&) {
      // Not a number: reported by the caller like a non-finite one.
    }
    return std::nullopt;
  }

  YAML::Node node_;
  std::string path_;
  ErrorList& errors_;
  const EnvLookup& env_;
  std::set<std::string> known_;
  bool valid_ = true;
};

void RequirePositive(MapReader& reader, const std::string& key, Duration value, ErrorList& errors);

// Reads a list of entries with `read_one`, which gets a reader positioned on each entry.
template <typename T, typename ReadOne>
std::vector<T> ReadList(const YAML::Node& node, const std::string& key, ErrorList& errors,
                        const EnvLookup& env, ReadOne read_one) {
  std::vector<T> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) {
    errors.Add(node.Mark(), key + ": expected a list");
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    MapReader reader(node[i], key + "[" + std::to_string(i) + "]", errors, env);
    T entry;
    read_one(reader, entry);
    reader.RejectUnknownKeys();
    if (reader.valid()) out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace outcomes
