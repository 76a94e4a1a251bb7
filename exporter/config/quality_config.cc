#include <algorithm>
#include <cmath>
#include <set>

#include "exporter/config/quality_config_reader.h"

namespace outcomes {
namespace {

// The longest duration these settings take, as for every other duration of the config.
constexpr Duration kLongestDuration = std::chrono::hours(24 * 365 * 10);

// The keys of one mapping: reads them by name and reports, with their own position, those
// nobody asked for. Small on purpose: these sections hold durations, a flag and a list.
class SectionReader {
 public:
  SectionReader(const YAML::Node& node, std::string path, ErrorList& errors, const EnvLookup& env)
      : node_(node), path_(std::move(path)), errors_(errors), env_(env), valid_(node_.IsMap()) {
    if (!valid_) errors_.Add(node_.Mark(), path_ + ": expected a mapping");
  }

  std::string Qualified(const std::string& key) const { return path_ + "." + key; }

  YAML::Node Get(const std::string& key) {
    known_.insert(key);
    if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
    for (const auto& entry : node_) {
      if (entry.first.as<std::string>() == key) return entry.second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  YAML::Mark MarkOf(const std::string& key) {
    const YAML::Node value = Get(key);
    return value.IsDefined() ? value.Mark() : node_.Mark();
  }

  // A duration greater than 0.
  void PositiveDuration(const std::string& key, Duration& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    Result<std::string> text = value.IsScalar() ? ExpandEnv(value.Scalar(), env_)
                                                : Status::Error("expected a duration such as 1m");
    Result<Duration> parsed = text.ok() ? ParseDuration(text.value()) : text.status();
    if (!parsed.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + parsed.error());
    } else if (parsed.value() <= Duration::zero()) {
      errors_.Add(value.Mark(), Qualified(key) + ": must be greater than 0");
    } else if (parsed.value() > kLongestDuration) {
      errors_.Add(value.Mark(), Qualified(key) + ": must be at most " +
                                    FormatDuration(kLongestDuration) +
                                    " (timers and libpq cannot count further)");
    } else {
      out = parsed.value();
    }
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

  // Upper bounds of a histogram: finite numbers greater than 0, strictly ascending. All or
  // nothing: a bad list keeps the default.
  void Buckets(const std::string& key, std::vector<double>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence() || value.size() == 0) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a non-empty list of seconds");
      return;
    }
    std::vector<double> buckets;
    for (const auto& item : value) {
      const std::optional<double> number = FiniteNumber(item);
      if (!number || *number <= 0) {
        errors_.Add(item.Mark(), Qualified(key) +
                                     ": expected a number of seconds greater than 0 (the +Inf "
                                     "bucket is always there)");
        return;
      }
      if (!buckets.empty() && *number <= buckets.back()) {
        errors_.Add(item.Mark(), Qualified(key) + ": must be strictly ascending");
        return;
      }
      buckets.push_back(*number);
    }
    out = std::move(buckets);
  }

  void RejectUnknownKeys() {
    if (!valid_) return;
    std::set<std::string> seen;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!seen.insert(key).second) {
        errors_.Add(entry.first.Mark(), Qualified(key) + ": duplicate key");
      } else if (!known_.contains(key)) {
        errors_.Add(entry.first.Mark(), Qualified(key) + ": unknown key");
      }
    }
  }

 private:
  static std::optional<double> FiniteNumber(const YAML::Node& node) {
    if (!node.IsScalar()) return std::nullopt;
    try {
      const auto number = node.as<double>();
      if (std::isfinite(number)) return number;
    } catch (const YAML::Exception&) {
      // Not a number: reported by the caller.
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

}  // namespace

DataQualityConfig ReadDataQualityConfig(const YAML::Node& node, const std::string& path,
                                        ErrorList& errors, const EnvLookup& env) {
  DataQualityConfig config;
  if (node.IsNull()) return config;  // `data_quality:` alone: every default
  SectionReader reader(node, path, errors, env);
  reader.PositiveDuration("interval", config.interval);
  reader.PositiveDuration("timeout", config.timeout);
  reader.Buckets("delay_buckets", config.delay_buckets);
  reader.RejectUnknownKeys();
  return config;
}

StoreHealthConfig ReadStoreHealthConfig(const YAML::Node& node, const std::string& path,
                                        ErrorList& errors, const EnvLookup& env) {
  StoreHealthConfig config;
  if (node.IsNull()) return config;
  SectionReader reader(node, path, errors, env);
  reader.Bool("enabled", config.enabled);
  reader.PositiveDuration("interval", config.interval);
  reader.PositiveDuration("timeout", config.timeout);
  reader.RejectUnknownKeys();
  return config;
}

}  // namespace outcomes
