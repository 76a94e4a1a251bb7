// What the collector unit tests share: reading one sample back from families, and running a
// cycle that the test cancels while its statement is in flight.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>

#include "exporter/collectors/collector.h"
#include "exporter/metrics/family.h"
#include "tests/support/fake_store_session.h"

namespace outcomes::testing_support {

inline const prometheus::MetricFamily* FindFamily(
    const std::vector<prometheus::MetricFamily>& families, const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

// The value of the sample of `name` whose labels are exactly `labels`, if any.
inline std::optional<double> Sample(const std::vector<prometheus::MetricFamily>& families,
                                    const std::string& name, const Labels& labels = {}) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return std::nullopt;
  for (const auto& metric : family->metric) {
    Labels got;
    for (const auto& label : metric.label) got.emplace_back(label.name, label.value);
    if (got != labels) continue;
    switch (family->type) {
      case prometheus::MetricType::Counter: return metric.counter.value;
      case prometheus::MetricType::Untyped: return metric.untyped.value;
      default: return metric.gauge.value;
    }
  }
  return std::nullopt;
}

// Runs one cycle whose statement `blocking` hangs, cancels it from this thread the way the
// scheduler's watchdog does, and returns what the cycle returned. No sleeps: the test waits
// for the fake to report the statement in flight.
inline CollectOutput CollectAndCancel(BlockingCollector& collector, FakeStore& store,
                                      const std::string& blocking) {
  store.BlockQuery(blocking);
  CollectOutput output;
  std::thread cycle([&] { output = collector.Collect(); });
  const bool blocked = store.WaitUntilBlocked();
  EXPECT_TRUE(blocked) << blocking << " never ran";
  collector.Cancel();
  cycle.join();
  return output;
}

}  // namespace outcomes::testing_support
