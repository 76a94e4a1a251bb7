// The readers of `analytics.data_quality` and `store_health` (quality_config.h).
#include <string>
#include <vector>

#include "exporter/config/quality_config_reader.h"
#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

void ReadIntervals(MapReader& reader, Duration& interval, Duration& timeout) {
  reader.DurationField("interval", interval);
  RequirePositive(reader, "interval", interval);
  reader.DurationField("timeout", timeout);
  RequirePositive(reader, "timeout", timeout);
}

// Upper bounds of the delay histogram: seconds greater than 0, strictly ascending, each
// problem reported at its item. A bad list keeps the default.
void ReadDelayBuckets(MapReader& reader, std::vector<double>& out) {
  std::vector<double> buckets;
  reader.BucketList("delay_buckets", buckets);
  const YAML::Node items = reader.Get("delay_buckets");
  if (!items.IsSequence()) return;  // absent, null or reported by BucketList
  const std::string key = reader.Qualified("delay_buckets");
  if (buckets.size() != items.size()) return;  // an item that is not a number: reported
  if (buckets.empty()) {
    reader.Error("delay_buckets", "expected a non-empty list of seconds");
    return;
  }
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] <= 0) {
      reader.errors().Add(items[i].Mark(), key +
                                               ": expected a number of seconds greater than 0 "
                                               "(the +Inf bucket is always there)");
      return;
    }
    if (i > 0 && buckets[i] <= buckets[i - 1]) {
      reader.errors().Add(items[i].Mark(), key + ": must be strictly ascending");
      return;
    }
  }
  out = std::move(buckets);
}

}  // namespace

std::optional<DataQualityConfig> ReadDataQuality(MapReader& analytics) {
  if (!analytics.Get("data_quality").IsDefined()) return std::nullopt;
  DataQualityConfig config;
  std::optional<MapReader> reader = analytics.Nested("data_quality");
  if (!reader) return config;  // `data_quality:` alone: every default
  ReadIntervals(*reader, config.interval, config.timeout);
  ReadDelayBuckets(*reader, config.delay_buckets);
  reader->RejectUnknownKeys();
  return config;
}

StoreHealthConfig ReadStoreHealth(MapReader& root) {
  StoreHealthConfig config;
  std::optional<MapReader> reader = root.Nested("store_health");
  if (!reader) return config;
  reader->Bool("enabled", config.enabled);
  ReadIntervals(*reader, config.interval, config.timeout);
  reader->RejectUnknownKeys();
  return config;
}

}  // namespace outcomes
