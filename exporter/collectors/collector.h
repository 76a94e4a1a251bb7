// Collector: one source of metrics that runs on its own schedule, never concurrently with
// itself. The scheduler knows one contract: CollectAsync() starts a cycle without blocking and
// calls `done` exactly once when it ends. Network probes run on the io_context's thread (one
// thread drives any number of them); collectors that block (SQL) derive from BlockingCollector,
// which runs their Collect() on a worker thread of their own. /metrics serves the families of
// the last cycle.
#pragma once

#include <prometheus/metric_family.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
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
  using Done = std::function<void(CollectOutput)>;

  virtual ~Collector() = default;

  // The `collector` label and log field, e.g. "store" or "endpoint/reco-api".
  virtual const std::string& name() const = 0;
  virtual Duration interval() const = 0;
  // Past this deadline the scheduler calls Cancel() and records the cycle as failed.
  virtual Duration timeout() const = 0;

  // Starts one cycle and returns without blocking; `done` is called exactly once, on the
  // io_context's thread or on the collector's own, when the cycle ends. Called on the
  // io_context's thread, never before the previous cycle's `done`. By value: a probe keeps
  // `done` until its requests finish.
  virtual void CollectAsync(boost::asio::io_context& io,
                            Done done) = 0;  // NOLINT(performance-unnecessary-value-param)
  // Asks the running cycle to end soon; from any thread. Collectors that enforce their own
  // deadline need nothing more. Default: nothing.
  virtual void Cancel() {}
  // Waits until `deadline` for a cycle that runs on a thread of the collector's own; true
  // when none is running. Default: true (a collector without a thread of its own).
  virtual bool AwaitIdle(std::chrono::steady_clock::time_point /*deadline*/) { return true; }

  // True when this running collector already matches `other`'s configuration, so that a
  // reload keeps it (and its state) instead of replacing it.
  virtual bool SameConfig(const Collector& other) const = 0;
};

// BlockingCollector: the adapter for collectors whose cycle blocks (a database read). Each
// CollectAsync() hands Collect() to the collector's worker thread, started with the first
// cycle, and passes its output (or the exception it threw, as an error) to `done` there.
// Must be owned by a std::shared_ptr: a cycle keeps its collector alive until it ends.
// Collect() runs on the worker thread only; Cancel() may come from any thread.
class BlockingCollector : public Collector, public std::enable_shared_from_this<BlockingCollector> {
 public:
  BlockingCollector();
  ~BlockingCollector() override;
  BlockingCollector(const BlockingCollector&) = delete;
  BlockingCollector& operator=(const BlockingCollector&) = delete;

  void CollectAsync(boost::asio::io_context& io, Done done) final;
  bool AwaitIdle(std::chrono::steady_clock::time_point deadline) final;

  // One cycle, blocking; Cancel() from another thread ends it early. Tests call it directly.
  virtual CollectOutput Collect() = 0;

 private:
  struct Worker;
  // Collect(), with an exception that escapes it turned into an error.
  CollectOutput CollectCatching();

  const std::shared_ptr<Worker> worker_;  // shared with the thread, which may outlive *this
  std::thread thread_;
};

}  // namespace outcomes
