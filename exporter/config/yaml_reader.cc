#include "exporter/config/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <exception>
#include <system_error>

namespace outcomes {
namespace {

// The longest duration any setting takes: timers count nanoseconds in 64 bits (about 292
// years from the clock's epoch) and libpq's connect_timeout is an int of seconds.
constexpr Duration kLongestDuration = std::chrono::hours(24 * 365 * 10);

// from_chars, not stoll: out of range is a false, never an exception.
bool ParseDecimal(const std::string& text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, out);
  return !text.empty() && error == std::errc() && stop == end;
}

// As Go's decoder reads an integer: a sign is allowed.
bool ParseGoInteger(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

// A boolean as YAML 1.1, which the exporter-toolkit's decoder reads, spells it.
std::optional<bool> GoBool(const std::string& text) {
  static const std::set<std::string> kTrue = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                              "on",   "On",   "ON",   "y",   "Y"};
  static const std::set<std::string> kFalse = {"false", "False", "FALSE", "no", "No", "NO",
                                               "off",   "Off",   "OFF",   "n",  "N"};
  if (kTrue.contains(text)) return true;
  if (kFalse.contains(text)) return false;
  return std::nullopt;
}

// .inf and .nan are numbers to YAML but no setting of ours can use them.
std::optional<double> FiniteNumber(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  try {
    const auto number = node.as<double>();
    if (std::isfinite(number)) return number;
  } catch (const YAML::Exception&) {
    // Not a number: reported by the caller like a non-finite one.
  }
  return std::nullopt;
}

}  // namespace

bool ParseInteger(const std::string& text, std::int64_t& out, const YamlDialect& dialect) {
  return dialect.go_yaml ? ParseGoInteger(text, out) : ParseDecimal(text, out);
}

MapReader::MapReader(const YAML::Node& node, std::string path, ErrorList& errors,
                     YamlDialect dialect)
    : node_(node), path_(std::move(path)), errors_(errors), dialect_(dialect) {
  if (!node_.IsMap()) {
    if (dialect_.go_yaml) {
      errors_.Add(node_.Mark(), (path_.empty() ? "web config" : path_) +
                                    ": expected a mapping (yaml: cannot unmarshal it)");
    } else {
      errors_.Add(node_.Mark(), path_ + ": expected a mapping");
    }
    valid_ = false;
    return;
  }
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    const auto key = entry.first.as<std::string>();
    if (!seen.insert(key).second)
      errors_.Add(entry.first.Mark(), Qualified(key) + ": duplicate key");
  }
}

YAML::Node MapReader::Get(const std::string& key) {
  known_.insert(key);
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& entry : node_) {
    if (entry.first.as<std::string>() == key) return entry.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::Has(const std::string& key) {
  const YAML::Node value = Get(key);
  return value.IsDefined() && !value.IsNull();
}

YAML::Mark MapReader::MarkOf(const std::string& key) {
  const YAML::Node value = Get(key);
  return value.IsDefined() ? value.Mark() : node_.Mark();
}

void MapReader::Error(const std::string& key, const std::string& message) {
  errors_.Add(MarkOf(key), Qualified(key) + ": " + message);
}

void MapReader::ErrorHere(const std::string& message) {
  errors_.Add(node_.Mark(), path_ + ": " + message);
}

std::optional<std::string> MapReader::Expanded(const YAML::Node& value, const std::string& where) {
  if (dialect_.env == nullptr) return value.Scalar();
  Result<std::string> expanded = ExpandEnv(value.Scalar(), *dialect_.env);
  if (!expanded.ok()) {
    errors_.Add(value.Mark(), where + ": " + expanded.error());
    return std::nullopt;
  }
  return std::move(expanded).value();
}

void MapReader::String(const std::string& key, std::string& out, bool required) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) {
    if (required) errors_.Add(node_.Mark(), Qualified(key) + ": required");
    return;
  }
  if (!value.IsScalar()) {
    errors_.Add(value.Mark(), Qualified(key) + ": expected a string");
    return;
  }
  if (std::optional<std::string> text = Expanded(value, Qualified(key))) out = std::move(*text);
}

void MapReader::DurationField(const std::string& key, Duration& out) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsScalar()) {
    errors_.Add(value.Mark(), Qualified(key) + ": expected a duration such as 15s");
    return;
  }
  const std::optional<std::string> text = Expanded(value, Qualified(key));
  if (!text) return;
  Result<Duration> parsed = ParseDuration(*text);
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

void MapReader::Bool(const std::string& key, bool& out) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  std::optional<bool> parsed;
  if (value.IsScalar() && dialect_.go_yaml) {
    parsed = GoBool(value.Scalar());
  } else if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
    parsed = value.Scalar() == "true";
  }
  if (!parsed) {
    errors_.Add(value.Mark(), Qualified(key) + ": expected true or false");
    return;
  }
  out = *parsed;
}

void MapReader::Int64(const std::string& key, std::int64_t& out) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  std::int64_t parsed = 0;
  if (!value.IsScalar() || !ParseInteger(value.Scalar(), parsed, dialect_)) {
    errors_.Add(value.Mark(), Qualified(key) + ": expected an integer");
    return;
  }
  out = parsed;
}

void MapReader::Double(const std::string& key, double& out) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (std::optional<double> number = FiniteNumber(value)) {
    out = *number;
  } else {
    errors_.Add(value.Mark(), Qualified(key) + ": expected a finite number");
  }
}

void MapReader::IntList(const std::string& key, std::vector<int>& out) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsSequence()) {
    errors_.Add(value.Mark(), Qualified(key) + ": expected a list of integers");
    return;
  }
  out.clear();
  for (const auto& item : value) {
    std::int64_t parsed = 0;
    if (!item.IsScalar() || !ParseDecimal(item.Scalar(), parsed) || parsed < 0 || parsed > 999) {
      errors_.Add(item.Mark(), Qualified(key) + ": expected an HTTP status code");
      continue;
    }
    out.push_back(static_cast<int>(parsed));
  }
}

void MapReader::BucketList(const std::string& key, std::vector<double>& out) {
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
      errors_.Add(item.Mark(),
                  Qualified(key) + ": expected a finite number (the +Inf bucket is always there)");
      valid = false;
    }
  }
  if (valid) out = std::move(buckets);
}

void MapReader::StringList(const std::string& key, std::vector<std::string>& out) {
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

void MapReader::StringMap(const std::string& key,
                          std::vector<std::pair<std::string, std::string>>& out) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsMap()) {
    errors_.Add(value.Mark(), Qualified(key) + ": expected a mapping of strings");
    return;
  }
  for (const auto& entry : value) {
    const std::string where = Qualified(key) + "." + entry.first.Scalar();
    if (!entry.second.IsScalar()) {
      errors_.Add(entry.second.Mark(), where + ": expected a string");
      continue;
    }
    if (std::optional<std::string> text = Expanded(entry.second, where)) {
      out.emplace_back(entry.first.Scalar(), std::move(*text));
    }
  }
}

std::optional<MapReader> MapReader::Nested(const std::string& key) {
  const YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  return MapReader(value, Qualified(key), errors_, dialect_);
}

void MapReader::RejectUnknownKeys() {
  if (!valid_) return;
  const char* const suffix =
      dialect_.go_yaml ? ": unknown key (yaml: field not found)" : ": unknown key";
  for (const auto& entry : node_) {
    const auto key = entry.first.as<std::string>();
    if (!known_.contains(key)) errors_.Add(entry.first.Mark(), Qualified(key) + suffix);
  }
}

void RequirePositive(MapReader& reader, const std::string& key, Duration value) {
  if (value <= Duration::zero()) reader.Error(key, "must be greater than 0");
}

void RequireFraction(MapReader& reader, const std::string& key, double value) {
  if (!(value > 0 && value < 1)) reader.Error(key, "must be between 0 and 1 (exclusive)");
}
}  // namespace outcomes
