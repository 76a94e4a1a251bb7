// Golden exposition files: a collector's families serialized as /metrics serves them
// (prometheus::TextSerializer, text format 0.0.4), compared byte for byte with
// tests/golden/<collector>.prom. With OUTCOMES_UPDATE_GOLDEN=1 in the environment the file is
// rewritten instead; review its diff like code. The golden files also pass
// `promtool check metrics` (tests/golden/check.sh, ctest golden.promtool).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "exporter/metrics/family.h"

namespace outcomes::testing_support {

inline std::string GoldenPath(const std::string& collector) {
  return std::string(OUTCOMES_SOURCE_DIR) + "/tests/golden/" + collector + ".prom";
}

inline void ExpectMatchesGolden(const std::vector<prometheus::MetricFamily>& families,
                                const std::string& collector) {
  const std::string path = GoldenPath(collector);
  const std::string actual = Serialize(families);
  const char* update = std::getenv("OUTCOMES_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file.good()) << path << ": missing; run the test with OUTCOMES_UPDATE_GOLDEN=1";
  std::ostringstream expected;
  expected << file.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << path << " differs; if the change is intended, rerun with OUTCOMES_UPDATE_GOLDEN=1";
}

}  // namespace outcomes::testing_support
