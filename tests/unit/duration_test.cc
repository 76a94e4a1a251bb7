#include "exporter/core/duration.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseDuration("500ms").value(), 500ms);
  EXPECT_EQ(ParseDuration("15s").value(), 15s);
  EXPECT_EQ(ParseDuration("5m").value(), 5min);
  EXPECT_EQ(ParseDuration("1h").value(), 1h);
  EXPECT_EQ(ParseDuration("7d").value(), 7 * 24h);
  EXPECT_EQ(ParseDuration("2w").value(), 14 * 24h);
  EXPECT_EQ(ParseDuration("0").value(), 0ms);
}

TEST(DurationTest, ParsesCombinations) {
  EXPECT_EQ(ParseDuration("1h30m").value(), 90min);
  EXPECT_EQ(ParseDuration("1m500ms").value(), 60500ms);
}

TEST(DurationTest, RejectsMissingUnit) {
  const auto result = ParseDuration("15");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "invalid duration \"15\": missing or unknown unit (use ms, s, m, h, d, w, y)");
}

TEST(DurationTest, RejectsUnknownUnitAndGarbage) {
  EXPECT_FALSE(ParseDuration("15x").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_FALSE(ParseDuration("1.5s").ok());
  EXPECT_FALSE(ParseDuration("5 s").ok());
}

TEST(DurationTest, RejectsOverflow) {
  EXPECT_FALSE(ParseDuration("99999999999999999999s").ok());
  EXPECT_FALSE(ParseDuration("9999999999999999y").ok());
}

TEST(DurationTest, FormatsRoundTrip) {
  EXPECT_EQ(FormatDuration(0ms), "0s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(24h), "1d");
  for (const char* text : {"1h30m", "15s", "7d", "1m500ms"}) {
    EXPECT_EQ(FormatDuration(ParseDuration(text).value()), text);
  }
}

}  // namespace
}  // namespace outcomes
