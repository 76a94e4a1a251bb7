#include "exporter/metrics/process.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

using prometheus::MetricType;

void Gauge(std::vector<prometheus::MetricFamily>& out, const char* name, const char* help,
           double value, MetricType type = MetricType::Gauge) {
  auto family = MakeFamily(name, help, type);
  AddSample(family, {}, value);
  out.push_back(std::move(family));
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

double BootTimeSeconds(const std::string& proc_root) {
  std::istringstream stat(ReadFile(proc_root + "/stat"));
  std::string key;
  while (stat >> key) {
    if (key == "btime") {
      double value = 0;
      stat >> value;
      return value;
    }
  }
  return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessMetrics(const std::string& proc_root) {
  std::vector<prometheus::MetricFamily> out;
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page_size = static_cast<double>(sysconf(_SC_PAGESIZE));

  const std::string stat = ReadFile(proc_root + "/self/stat");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const std::size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> values;
    std::string value;
    while (fields >> value) values.push_back(value);
    // values[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24.
    if (values.size() > 22) {
      const double cpu = (std::stod(values[11]) + std::stod(values[12])) / ticks;
      Gauge(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
            cpu, MetricType::Counter);
      const double boot = BootTimeSeconds(proc_root);
      if (boot > 0) {
        Gauge(out, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.",
              boot + std::stod(values[19]) / ticks);
      }
      Gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
            std::stod(values[20]));
      Gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
            std::stod(values[21]) * page_size);
    }
  }

  std::error_code error;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator(proc_root + "/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++fds;
  }
  if (!error)
    Gauge(out, "process_open_fds", "Number of open file descriptors.", static_cast<double>(fds));

  std::istringstream limits(ReadFile(proc_root + "/self/limits"));
  std::string line;
  while (std::getline(limits, line)) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream words(line.substr(14));
    std::string soft;
    words >> soft;
    if (soft != "unlimited") {
      Gauge(out, "process_max_fds", "Maximum number of open file descriptors.", std::stod(soft));
    }
  }
  return out;
}

}  // namespace outcomes
