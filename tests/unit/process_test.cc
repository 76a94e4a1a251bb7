#include "exporter/metrics/process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace outcomes {
namespace {

const prometheus::MetricFamily* Find(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

TEST(ProcessMetricsTest, ReadsAFixtureProcRoot) {
  const std::filesystem::path root = testing::TempDir() + "/proc_fixture";
  std::filesystem::create_directories(root / "self" / "fd");
  for (int fd = 0; fd < 3; ++fd) {
    std::ofstream(root / "self" / "fd" / std::to_string(fd)) << "";
  }
  // The command name holds a space and a parenthesis, as real ones may.
  std::ofstream(root / "self" / "stat")
      << "42 (outcomes (x) exp) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 1000 "
         "123456789 2048 18446744073709551615\n";
  std::ofstream(root / "stat") << "cpu  1 2 3\nbtime 1700000000\n";
  std::ofstream(root / "self" / "limits")
      << "Limit                     Soft Limit           Hard Limit           Units\n"
         "Max open files            1024                 4096                 files\n";

  const auto families = ProcessMetrics(root.string());
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ASSERT_NE(Find(families, "process_cpu_seconds_total"), nullptr);
  EXPECT_DOUBLE_EQ(Find(families, "process_cpu_seconds_total")->metric[0].counter.value,
                   400 / ticks);
  EXPECT_DOUBLE_EQ(Find(families, "process_start_time_seconds")->metric[0].gauge.value,
                   1700000000 + 1000 / ticks);
  EXPECT_DOUBLE_EQ(Find(families, "process_resident_memory_bytes")->metric[0].gauge.value,
                   2048.0 * static_cast<double>(sysconf(_SC_PAGESIZE)));
  EXPECT_DOUBLE_EQ(Find(families, "process_virtual_memory_bytes")->metric[0].gauge.value,
                   123456789);
  EXPECT_DOUBLE_EQ(Find(families, "process_open_fds")->metric[0].gauge.value, 3);
  EXPECT_DOUBLE_EQ(Find(families, "process_max_fds")->metric[0].gauge.value, 1024);
}

TEST(ProcessMetricsTest, MissingProcRootYieldsNothing) {
  EXPECT_TRUE(ProcessMetrics("/nonexistent-proc").empty());
}

}  // namespace
}  // namespace outcomes
