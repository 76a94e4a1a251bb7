// Collector: one source of metrics that runs on its own schedule, never concurrently with
// itself. Synchronous collectors run Collect() on a worker thread and Cancel() may be called
// from another thread; asynchronous ones run on the io_context thread. /metrics serves the
// families of the last cycle.
#pragma once

#include <prometheus/metric_family.h>

#include <boost/asio/io_context.hpp>
#include <functional>
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

  // Synchronous collectors block in Collect() on their own worker thread.
  virtual CollectOutput Collect() { return {Status::Error("not a synchronous collector"), {}}; }
  virtual void Cancel() {}

  // Asynchronous collectors (network probes) run on the io_context's thread and never block
  // it: CollectAsync() starts a cycle and calls `done` exactly once on that thread. One thread
  // then drives any number of them.
  virtual bool asynchronous() const { return false; }
  // By value: the asynchronous collectors keep `done` until their requests finish.
  virtual void CollectAsync(
      boost::asio::io_context& /*io*/,
      std::function<void(CollectOutput)> done) {  // NOLINT(performance-unnecessary-value-param)
    done({Status::Error("not an asynchronous collector"), {}});
  }

  // True when this running collector already matches `other`'s configuration, so that a
  // reload keeps it (and its state) instead of replacing it.
  virtual bool SameConfig(const Collector& other) const = 0;
};

}  // namespace outcomes
