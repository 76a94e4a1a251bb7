#include "exporter/core/text.h"

#include <gtest/gtest.h>

#include "exporter/core/dsn.h"
#include "exporter/core/log.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

TEST(SanitizeUtf8Test, KeepsValidText) {
  EXPECT_EQ(SanitizeUtf8("plain"), "plain");
  EXPECT_EQ(SanitizeUtf8("mod\xC3\xA8le \xE2\x82\xAC \xF0\x9F\x9A\x80"),
            "mod\xC3\xA8le \xE2\x82\xAC \xF0\x9F\x9A\x80");
}

TEST(SanitizeUtf8Test, ReplacesInvalidSequences) {
  EXPECT_EQ(SanitizeUtf8("a\xFF"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SanitizeUtf8("\xC3"), "\xEF\xBF\xBD");                                  // truncated
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(ExpositionTest, EscapesLabelValues) {
  auto family = MakeFamily("outcomes_test_total", "Help.", prometheus::MetricType::Counter);
  AddSample(family, {{"model_version", "v\"1\\\nx"}}, 3);
  EXPECT_EQ(Serialize({family}),
            "# HELP outcomes_test_total Help.\n"
            "# TYPE outcomes_test_total counter\n"
            "outcomes_test_total{model_version=\"v\\\"1\\\\\\nx\"} 3\n");
}

TEST(ExpositionTest, MergesFamiliesWithTheSameName) {
  auto a = MakeFamily("m", "Help.", prometheus::MetricType::Gauge);
  AddSample(a, {{"endpoint", "a"}}, 1);
  auto b = MakeFamily("m", "Help.", prometheus::MetricType::Gauge);
  AddSample(b, {{"endpoint", "b"}}, 0);
  auto c = MakeFamily("n", "Other.", prometheus::MetricType::Gauge);
  const auto merged = MergeFamilies({a, c, b});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].name, "m");
  EXPECT_EQ(merged[0].metric.size(), 2u);
  EXPECT_EQ(merged[1].name, "n");
}

TEST(DsnTest, RedactsUriPassword) {
  EXPECT_EQ(RedactDsn("postgresql://reader:s3cr%40t@db:5432/outcomes?sslmode=require"),
            "postgresql://reader:xxxxx@db:5432/outcomes?sslmode=require");
  EXPECT_EQ(RedactDsn("postgres://reader@db/outcomes"), "postgres://reader@db/outcomes");
}

TEST(DsnTest, RedactsKeyValuePassword) {
  EXPECT_EQ(RedactDsn("host=db user=reader password=s3cret dbname=outcomes"),
            "host=db user=reader password=xxxxx dbname=outcomes");
  EXPECT_EQ(RedactDsn("host=db password = 'a b\\'c' dbname=x"),
            "host=db password = xxxxx dbname=x");
  EXPECT_EQ(RedactDsn("host=db passwordfile=x"), "host=db passwordfile=x");
}

TEST(DsnTest, ScrubsPasswordFromMessages) {
  EXPECT_EQ(ScrubSecret("FATAL: bad login s3cret for reader", "host=db password=s3cret"),
            "FATAL: bad login xxxxx for reader");
}

TEST(DsnTest, AddsParametersUnlessSet) {
  EXPECT_EQ(WithConnParams("postgresql://u@h/db", {{"application_name", "x"}}),
            "postgresql://u@h/db?application_name=x");
  EXPECT_EQ(WithConnParams("postgresql://u@h/db?sslmode=require", {{"connect_timeout", "5"}}),
            "postgresql://u@h/db?sslmode=require&connect_timeout=5");
  EXPECT_EQ(WithConnParams("host=h", {{"application_name", "x"}}), "host=h application_name='x'");
  EXPECT_EQ(WithConnParams("host=h application_name=mine", {{"application_name", "x"}}),
            "host=h application_name=mine");
}

TEST(LogTest, WritesLogfmtWithQuoting) {
  std::ostringstream out;
  Logger log(out, LogLevel::kInfo, LogFormat::kLogfmt);
  log.Debug("hidden");
  log.Error("collection failed", {{"collector", "store"}, {"err", "say \"hi\"\nbye"}});
  const std::string line = out.str();
  EXPECT_EQ(line.find("hidden"), std::string::npos);
  EXPECT_NE(line.find(" level=error msg=\"collection failed\" collector=store "
                      "err=\"say \\\"hi\\\"\\nbye\"\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
}

TEST(LogTest, WritesJson) {
  std::ostringstream out;
  Logger log(out, LogLevel::kDebug, LogFormat::kJson);
  log.Info("hello", {{"k", "v\"\t"}});
  EXPECT_NE(out.str().find(",\"level\":\"info\",\"msg\":\"hello\",\"k\":\"v\\\"\\t\"}\n"),
            std::string::npos)
      << out.str();
}

TEST(LogTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(ParseLogLevel("warn").value(), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("xml").error(), "unknown log format \"xml\" (want logfmt or json)");
}

TEST(HtmlEscapeTest, EscapesMarkup) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

}  // namespace
}  // namespace outcomes
