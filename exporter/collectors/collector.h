// Collector: one source of metrics that runs on its own schedule. The scheduler calls
// Collect() on a worker thread, never concurrently with itself; Cancel() may be called from
// another thread while Collect() runs. /metrics serves the families of the last cycle.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/core/status.h"

namespace outcomes {

struct CollectOutput {
  // Whether the cycle succeeded; the message is shown on the landing page and logged.
  Status status = Status::Ok();
  // Served until the next cycle, whatever the status (a collector keeps its last counters).
  std::vector<prometheus::MetricFamily> families;
};

class Collector {
 public:
  virtual ~Collector() = default;

  // The `collector` label and log field, e.g. "store" or "endpoint/reco-api".
  virtual const std::string& name() const = 0;
  virtual Duration interval() const = 0;
  // Past this deadline the scheduler calls Cancel() and records the cycle as failed.
  virtual Duration timeout() const = 0;

  virtual CollectOutput Collect() = 0;
  virtual void Cancel() {}

  // True when this running collector already matches `other`'s configuration, so that a
  // reload keeps it (and its state) instead of replacing it.
  virtual bool SameConfig(const Collector& other) const = 0;
};

}  // namespace outcomes
