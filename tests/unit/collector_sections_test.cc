// The sections of `analytics:` that a collector declares and reads itself
// (exporter/config/collector_sections.h), read with a table of the test's own: values, errors
// at file:line:column, unknown keys inside and beside them, and the equality a reload uses.
#include "exporter/config/collector_sections.h"

#include <gtest/gtest.h>

#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;

struct SizesConfig {
  Duration interval = 5min;
  std::int64_t tables = 3;

  bool operator==(const SizesConfig&) const = default;
};

SizesConfig ReadSizes(MapReader& section) {
  SizesConfig config;
  section.DurationField("interval", config.interval);
  section.Int64("tables", config.tables);
  if (config.tables < 1) section.Error("tables", "must be at least 1");
  return config;
}

constexpr CollectorSectionReader kReaders[] = {
    {"sizes", &ReadSection<SizesConfig, &ReadSizes>},
};

// `analytics:` of `yaml` read like the loader does: the sections, then the unknown keys.
struct Read {
  CollectorSections sections;
  std::string errors;
};
Read ReadAnalyticsOf(const std::string& yaml) {
  ErrorList errors("test.yml");
  const YAML::Node root = YAML::Load(yaml);
  MapReader analytics(root["analytics"], "analytics", errors, YamlDialect{});
  Read read{ReadCollectorSections(analytics, kReaders), ""};
  analytics.RejectUnknownKeys();
  read.errors = errors.Joined();
  return read;
}

TEST(CollectorSectionsTest, ReadsASectionWithItsCollectorsReader) {
  const Read read = ReadAnalyticsOf("analytics:\n  sizes:\n    interval: 1m\n");
  ASSERT_EQ(read.errors, "");
  const auto* sizes = read.sections.Find<SizesConfig>("sizes");
  ASSERT_NE(sizes, nullptr);
  EXPECT_EQ(sizes->interval, 1min);
  EXPECT_EQ(sizes->tables, 3);
}

TEST(CollectorSectionsTest, AnAbsentSectionIsNotThere) {
  const Read read = ReadAnalyticsOf("analytics:\n  other: 1\n");
  EXPECT_EQ(read.sections.Find<SizesConfig>("sizes"), nullptr);
}

TEST(CollectorSectionsTest, ReportsBadValuesAndUnknownKeysAtTheirPlace) {
  const Read read = ReadAnalyticsOf(
      "analytics:\n"
      "  sizes:\n"
      "    tables: 0\n"
      "    tabels: 2\n"
      "  sizez: {}\n");
  EXPECT_EQ(read.errors,
            "test.yml:3:13: analytics.sizes.tables: must be at least 1\n"
            "test.yml:4:5: analytics.sizes.tabels: unknown key\n"
            "test.yml:5:3: analytics.sizez: unknown key");
}

TEST(CollectorSectionsTest, EqualWhenEverySectionIsEqual) {
  const Read one = ReadAnalyticsOf("analytics:\n  sizes:\n    interval: 1m\n");
  const Read same = ReadAnalyticsOf("analytics:\n  sizes:\n    interval: 60s\n");
  const Read other = ReadAnalyticsOf("analytics:\n  sizes:\n    interval: 2m\n");
  const Read none = ReadAnalyticsOf("analytics:\n  other: 1\n");
  EXPECT_EQ(one.sections, same.sections);
  EXPECT_NE(one.sections, other.sections);
  EXPECT_NE(one.sections, none.sections);
}

}  // namespace
}  // namespace outcomes
