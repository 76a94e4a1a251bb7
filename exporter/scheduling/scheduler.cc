#include "exporter/scheduling/scheduler.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <exception>

namespace outcomes {

// One collector's timer, watchdog and state. Timers are touched only on the io_context's
// thread; the state is guarded by mutex_.
class Scheduler::Slot : public std::enable_shared_from_this<Slot> {
 public:
  Slot(boost::asio::io_context& io, Logger& log, const Clock& clock, const Timers& timers,
       std::shared_ptr<Collector> collector)
      : io_(io),
        log_(log),
        clock_(clock),
        collector_(std::move(collector)),
        timer_(timers.Make(io)),
        watchdog_(timers.Make(io)) {
    state_.name = collector_->name();
    state_.interval = collector_->interval();
  }

  const std::shared_ptr<Collector>& collector() const { return collector_; }

  void Start() { Arm(clock_.SteadyNow()); }

  // From any thread. The timers belong to the io thread (it arms them), so they are cancelled
  // there; until then, stopping_ keeps a firing timer from starting a cycle.
  void RequestStop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      if (state_.running) collector_->Cancel();
    }
    boost::asio::post(io_, [self = shared_from_this()] {
      self->timer_->Cancel();
      self->watchdog_->Cancel();
    });
  }

  bool running() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return state_.running;
  }

  CollectorState State() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return state_;
  }

  std::vector<prometheus::MetricFamily> Families() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return families_ ? *families_ : std::vector<prometheus::MetricFamily>{};
  }

  PreparedPart Prepared() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return prepared_;
  }

 private:
  void Arm(std::chrono::steady_clock::time_point when) {
    timer_->At(when, [self = shared_from_this()] { self->Trigger(); });
  }

  // On the io thread: starts the cycle and its watchdog.
  void Trigger() {
    std::uint64_t run = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      run = ++run_id_;
      state_.running = true;
      timed_out_ = false;
    }
    StartCycle();
    watchdog_->At(clock_.SteadyNow() + collector_->timeout(),
                  [self = shared_from_this(), run] { self->OnTimeout(run); });
  }

  // Hands a cycle to its collector. Whatever the collector does, the cycle ends: by `done`, by
  // the exception CollectAsync throws, or when the collector drops every copy of `done`
  // uncalled (an exception left one of its handlers; RunEventLoop logs it).
  void StartCycle() {
    auto cycle = std::make_shared<Cycle>(shared_from_this());
    try {
      collector_->CollectAsync(
          io_, [cycle](CollectOutput output) { cycle->Complete(std::move(output)); });
    } catch (const std::exception& e) {
      cycle->Complete({Status::Error(std::string("unexpected exception: ") + e.what()), {}});
    } catch (...) {
      cycle->Complete({Status::Error("unexpected exception of an unknown type"), {}});
    }
  }

  // One cycle, shared by the copies of its `done`; it finishes the cycle once.
  class Cycle {
   public:
    explicit Cycle(std::shared_ptr<Slot> slot)
        : slot_(std::move(slot)),
          started_(slot_->clock_.SteadyNow()),
          wall_started_(slot_->clock_.SystemNow()) {}
    Cycle(const Cycle&) = delete;
    Cycle& operator=(const Cycle&) = delete;
    ~Cycle() {
      if (completed_.exchange(true)) return;
      try {
        slot_->Abandon(started_, wall_started_);
      } catch (...) {
        // Nothing can be reported from a destructor that may run during unwinding.
      }
    }

    void Complete(CollectOutput output) {
      if (completed_.exchange(true)) return;
      slot_->Finish(std::move(output), started_, wall_started_);
    }

   private:
    const std::shared_ptr<Slot> slot_;
    const std::chrono::steady_clock::time_point started_;
    const std::chrono::system_clock::time_point wall_started_;
    std::atomic<bool> completed_{false};
  };

  // A cycle whose collector gave up on it without a result. At shutdown that is expected.
  void Abandon(std::chrono::steady_clock::time_point started,
               std::chrono::system_clock::time_point wall_started) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    Finish({Status::Error("the cycle ended without a result (an unexpected exception)"), {}},
           started, wall_started);
  }

  void OnTimeout(std::uint64_t run) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (run != run_id_ || !state_.running) return;
    timed_out_ = true;
    collector_->Cancel();
    log_.Warn("collection timed out, cancelling",
              {{"collector", state_.name}, {"timeout", FormatDuration(collector_->timeout())}});
  }

  // Records a finished cycle and schedules the next; on the collector's thread or the io thread.
  void Finish(CollectOutput output, std::chrono::steady_clock::time_point started,
              std::chrono::system_clock::time_point wall_started) {
    const auto finished = clock_.SteadyNow();
    const double seconds = std::chrono::duration<double>(finished - started).count();
    // Serialized here, outside the lock, once per cycle instead of once per scrape.
    auto prepared = std::make_shared<const PreparedFamilies>(output.families);
    auto families =
        std::make_shared<const std::vector<prometheus::MetricFamily>>(std::move(output.families));
    bool stopping = false;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping = stopping_;
      if (timed_out_ && output.status.ok()) {
        output.status = Status::Error("timed out after " + FormatDuration(collector_->timeout()));
      } else if (timed_out_) {
        output.status = Status::Error("timed out after " + FormatDuration(collector_->timeout()) +
                                      ": " + output.status.message());
      }
      const bool was_failing = state_.has_run && !state_.success;
      const std::string previous_error = state_.last_error;
      state_.running = false;
      state_.has_run = true;
      state_.success = output.status.ok();
      state_.last_duration_seconds = seconds;
      state_.last_run = wall_started;
      state_.last_error = output.status.message();
      if (output.status.ok()) state_.last_success = clock_.SystemNow();
      families_ = std::move(families);
      prepared_ = std::move(prepared);
      // One log line when a collector starts failing or its error changes, one when it recovers.
      if (!state_.success && (!was_failing || previous_error != state_.last_error)) {
        log_.Error("collection failed", {{"collector", state_.name}, {"err", state_.last_error}});
      } else if (state_.success && was_failing) {
        log_.Info("collection recovered", {{"collector", state_.name}});
      } else {
        log_.Debug("collection finished",
                   {{"collector", state_.name}, {"duration_seconds", std::to_string(seconds)}});
      }
    }
    if (stopping) return;
    // Next cycle one interval after this one started, or at once if that is already past.
    const auto next = std::max(started + collector_->interval(), clock_.SteadyNow());
    boost::asio::post(io_, [self = shared_from_this(), next] {
      bool stopping_now = false;
      {
        const std::lock_guard<std::mutex> lock(self->mutex_);
        stopping_now = self->stopping_;
      }
      if (stopping_now) return;
      self->watchdog_->Cancel();
      self->Arm(next);
    });
  }

  boost::asio::io_context& io_;
  Logger& log_;
  const Clock& clock_;
  const std::shared_ptr<Collector> collector_;
  const std::unique_ptr<Timer> timer_;
  const std::unique_ptr<Timer> watchdog_;

  mutable std::mutex mutex_;
  bool stopping_ = false;
  bool timed_out_ = false;
  std::uint64_t run_id_ = 0;
  CollectorState state_;
  std::shared_ptr<const std::vector<prometheus::MetricFamily>> families_;
  PreparedPart prepared_;
};

Scheduler::Scheduler(boost::asio::io_context& io, Logger& log, const Clock& clock,
                     const Timers& timers)
    : io_(io), log_(log), clock_(clock), timers_(timers) {}

void RunEventLoop(boost::asio::io_context& io, Logger& log) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      // Asio lets run() be called again after a handler threw; the rest of the work is intact.
      log.Error("unexpected exception in an event handler, continuing", {{"err", e.what()}});
    } catch (...) {
      log.Error("unexpected exception in an event handler, continuing",
                {{"err", "unknown exception type"}});
    }
  }
}

Scheduler::~Scheduler() {
  try {
    Stop(std::chrono::seconds(2));
  } catch (...) {
    // Nothing can be reported from a destructor; the process is ending.
  }
}

void Scheduler::Apply(const std::vector<std::shared_ptr<Collector>>& collectors) {
  std::vector<std::shared_ptr<Slot>> next;
  std::vector<std::shared_ptr<Slot>> started;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::shared_ptr<Slot>> old = std::move(slots_);
    for (const auto& collector : collectors) {
      std::shared_ptr<Slot> kept;
      for (auto& slot : old) {
        if (slot && slot->collector()->name() == collector->name() &&
            slot->collector()->SameConfig(*collector)) {
          kept = std::move(slot);
          break;
        }
      }
      if (!kept) {
        kept = std::make_shared<Slot>(io_, log_, clock_, timers_, collector);
        started.push_back(kept);
      }
      next.push_back(std::move(kept));
    }
    for (auto& slot : old) {
      if (!slot) continue;
      slot->RequestStop();
      retired_.push_back(std::move(slot));
    }
    slots_ = std::move(next);
    // Forget the retired slots whose last cycle has ended; Stop() waits for the others.
    std::erase_if(retired_, [](const std::shared_ptr<Slot>& slot) { return !slot->running(); });
  }
  for (const auto& slot : started) slot->Start();
}

bool Scheduler::Stop(Duration grace) {
  std::vector<std::shared_ptr<Slot>> all;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    all = std::move(slots_);
    slots_.clear();
    all.insert(all.end(), retired_.begin(), retired_.end());
    retired_.clear();
  }
  for (const auto& slot : all) slot->RequestStop();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  bool all_done = true;
  for (const auto& slot : all) {
    if (!slot->collector()->AwaitIdle(deadline)) {
      all_done = false;
      log_.Warn("collector still running at shutdown", {{"collector", slot->collector()->name()}});
    }
  }
  return all_done;
}

std::vector<CollectorState> Scheduler::States() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CollectorState> states;
  states.reserve(slots_.size());
  for (const auto& slot : slots_) states.push_back(slot->State());
  return states;
}

std::vector<PreparedPart> Scheduler::Prepared() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PreparedPart> parts;
  parts.reserve(slots_.size());
  for (const auto& slot : slots_) {
    if (PreparedPart part = slot->Prepared()) parts.push_back(std::move(part));
  }
  return parts;
}

std::vector<prometheus::MetricFamily> Scheduler::Families() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<prometheus::MetricFamily> families;
  for (const auto& slot : slots_) {
    std::vector<prometheus::MetricFamily> own = slot->Families();
    families.insert(families.end(), std::make_move_iterator(own.begin()),
                    std::make_move_iterator(own.end()));
  }
  return families;
}

}  // namespace outcomes
