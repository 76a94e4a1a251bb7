#include "exporter/flags.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

TEST(FlagsTest, Defaults) {
  const auto flags = ParseFlags({});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags.value().config_file, "outcomes_exporter.yml");
  EXPECT_EQ(flags.value().listen_address, ":9477");
  EXPECT_EQ(flags.value().telemetry_path, "/metrics");
  EXPECT_EQ(flags.value().log_format, "logfmt");
  EXPECT_FALSE(flags.value().config_check);
}

TEST(FlagsTest, AcceptsBothValueForms) {
  const auto flags = ParseFlags({"--config.file=a.yml", "--web.listen-address", "127.0.0.1:1",
                                 "--config.check", "--log.format=json"});
  ASSERT_TRUE(flags.ok()) << flags.error();
  EXPECT_EQ(flags.value().config_file, "a.yml");
  EXPECT_EQ(flags.value().listen_address, "127.0.0.1:1");
  EXPECT_TRUE(flags.value().config_check);
  EXPECT_EQ(flags.value().log_format, "json");
}

TEST(FlagsTest, RejectsUnknownFlag) {
  const auto flags = ParseFlags({"--web.listen-adress=:1"});
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.error(), "unknown flag --web.listen-adress (see --help)");
}

TEST(FlagsTest, RejectsMissingValueAndBadPath) {
  EXPECT_EQ(ParseFlags({"--config.file"}).error(), "flag --config.file needs a value");
  // The next flag is never taken as a value.
  EXPECT_EQ(ParseFlags({"--web.config.file", "--config.check"}).error(),
            "flag --web.config.file needs a value");
  EXPECT_FALSE(ParseFlags({"--web.telemetry-path=metrics"}).ok());
  EXPECT_FALSE(ParseFlags({"--web.telemetry-path=/-/healthy"}).ok());
  EXPECT_FALSE(ParseFlags({"--config.check=maybe"}).ok());
}

}  // namespace
}  // namespace outcomes
