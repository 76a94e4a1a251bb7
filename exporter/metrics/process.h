// The standard process_* metrics of the sidecar itself, read from /proc at scrape time (a few
// small file reads, the same as every Prometheus client library does). The proc root is a
// parameter so tests can point it at a fixture. Thread-safe: no state.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace outcomes {

// Reads <proc_root>/self/{stat,status,fd,limits} and <proc_root>/stat. Families whose source
// cannot be read are left out.
std::vector<prometheus::MetricFamily> ProcessMetrics(const std::string& proc_root = "/proc");

}  // namespace outcomes
