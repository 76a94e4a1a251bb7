#include "exporter/collectors/collector.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <typeinfo>

namespace outcomes {

std::string Collector::ErrorPrefix() const {
  std::string prefix = name();
  if (const std::size_t slash = prefix.find('/'); slash != std::string::npos) prefix[slash] = ' ';
  return prefix + ": ";
}

bool Collector::SameConfig(const Collector& other) const {
  return typeid(*this) == typeid(other) && frame_ == other.frame_ && SameSettings(other);
}

// The frame is compared by SameConfig() itself.
bool Collector::SameSettings(const Collector& /*other*/) const { return true; }

// What the collector and its worker thread share. The thread holds it, not the collector, so
// that the last owner of the collector may be the cycle that the thread just ran.
struct BlockingCollector::Worker {
  std::mutex mutex;
  std::condition_variable changed;
  std::function<void()> cycle;  // handed over by CollectAsync, taken by the thread
  // A cycle is running. The next one may be handed over before the thread is done with the
  // last (after its `done`), so idle is !running && !cycle, not one flag.
  bool running = false;
  bool stopping = false;

  void Loop() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return stopping || cycle; });
      if (!cycle) return;  // stopping, and nothing left to run
      std::function<void()> run = std::move(cycle);
      cycle = nullptr;
      running = true;
      lock.unlock();
      run();
      run = nullptr;  // may destroy the collector, on this thread (see ~BlockingCollector)
      lock.lock();
      running = false;
      changed.notify_all();
    }
  }
};

BlockingCollector::BlockingCollector(CollectorFrame frame)
    : Collector(std::move(frame)), worker_(std::make_shared<Worker>()) {}

BlockingCollector::~BlockingCollector() {
  {
    const std::lock_guard<std::mutex> lock(worker_->mutex);
    worker_->stopping = true;
  }
  worker_->changed.notify_all();
  if (!thread_.joinable()) return;
  // The last owner may be the cycle the thread just ran; the thread then ends on its own.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();  // idle: a running cycle would still own the collector
  }
}

void BlockingCollector::CollectAsync(boost::asio::io_context& /*io*/, Done done) {
  std::shared_ptr<BlockingCollector> self = shared_from_this();  // the cycle keeps it alive
  if (!thread_.joinable()) thread_ = std::thread([worker = worker_] { worker->Loop(); });
  {
    const std::lock_guard<std::mutex> lock(worker_->mutex);
    worker_->cycle = [self = std::move(self), done = std::move(done)] {
      done(self->CollectCatching());
    };
  }
  worker_->changed.notify_all();
}

bool BlockingCollector::AwaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(worker_->mutex);
  return worker_->changed.wait_until(lock, deadline,
                                     [this] { return !worker_->running && !worker_->cycle; });
}

CollectOutput BlockingCollector::CollectCatching() {
  try {
    return Collect();
  } catch (const std::exception& e) {
    // Collectors return errors as values; this is the last line of defence.
    return {Status::Error(std::string("unexpected exception: ") + e.what()), {}};
  } catch (...) {
    return {Status::Error("unexpected exception of an unknown type"), {}};
  }
}

}  // namespace outcomes
