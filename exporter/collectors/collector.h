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
#include <utility>
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

// What every collector is scheduled by.
struct CollectorFrame {
  // The `collector` label and log field, e.g. "store" or "endpoint/reco-api".
  std::string name;
  Duration interval{};
  // Past this deadline the scheduler calls Cancel() and records the cycle as failed.
  Duration timeout{};

  bool operator==(const CollectorFrame&) const = default;
};

class Collector {
 public:
  using Done = std::function<void(CollectOutput)>;

  explicit Collector(CollectorFrame frame) : frame_(std::move(frame)) {}
  virtual ~Collector() = default;

  const std::string& name() const { return frame_.name; }
  Duration interval() const { return frame_.interval; }
  Duration timeout() const { return frame_.timeout; }
  // What the collector's errors start with: "endpoint reco-api: " for "endpoint/reco-api".
  std::string ErrorPrefix() const;

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

  // True when this running collector already matches `other`'s configuration (same type,
  // frame and settings), so that a reload keeps it (and its state) instead of replacing it.
  bool SameConfig(const Collector& other) const;

 protected:
  // Compares what a base or the collector holds besides the frame; `other` has this
  // collector's type. Every override also asks its base. WithSettings implements it.
  virtual bool SameSettings(const Collector& other) const = 0;

 private:
  const CollectorFrame frame_;
};

// WithSettings<Base, Settings>: a collector base plus the collector's own settings (a config
// struct with operator==), which a reload compares, so that no collector writes SameConfig.
// `Base`'s constructor arguments follow the settings.
template <typename Base, typename Settings>
class WithSettings : public Base {
 public:
  const Settings& settings() const { return settings_; }

 protected:
  template <typename... BaseArgs>
  explicit WithSettings(Settings settings, BaseArgs&&... base_args)
      : Base(std::forward<BaseArgs>(base_args)...), settings_(std::move(settings)) {}

  bool SameSettings(const Collector& other) const override {
    // SameConfig() checked that `other` is of this collector's type, so of this base's.
    return static_cast<const WithSettings&>(other).settings_ == settings_ &&
           Base::SameSettings(other);
  }

 private:
  const Settings settings_;
};

// BlockingCollector: the adapter for collectors whose cycle blocks (a database read). Each
// CollectAsync() hands Collect() to the collector's worker thread, started with the first
// cycle, and passes its output (or the exception it threw, as an error) to `done` there.
// Must be owned by a std::shared_ptr: a cycle keeps its collector alive until it ends.
// Collect() runs on the worker thread only; Cancel() may come from any thread.
class BlockingCollector : public Collector, public std::enable_shared_from_this<BlockingCollector> {
 public:
  explicit BlockingCollector(CollectorFrame frame);
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
