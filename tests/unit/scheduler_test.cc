// The scheduler on the fake clock and fake timers: the test moves time by hand and runs the
// io_context's handlers itself, so intervals, timeouts and backoff are checked without sleeps.
#include "exporter/scheduling/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <sstream>

#include "exporter/collectors/sql_collector.h"
#include "exporter/metrics/family.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_store_session.h"
#include "tests/support/fake_timers.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;
using testing_support::FakeClock;
using testing_support::FakeStore;
using testing_support::FakeTimers;
using TimePoint = std::chrono::steady_clock::time_point;

// A synchronous collector that records when (on the fake clock) and how concurrently its cycles
// ran. A cycle takes `work` of fake time, or, when `blocks`, lasts until Cancel().
class FakeCollector : public BlockingCollector {
 public:
  struct Options {
    Duration interval = 10s;
    Duration work = 0s;
    bool blocks = false;
    Duration timeout = 5s;
  };
  FakeCollector(std::string name, const FakeTimers& timers, const FakeClock& clock, Options options)
      : BlockingCollector({std::move(name), options.interval, options.timeout}),
        timers_(timers),
        clock_(clock),
        options_(options) {}

  CollectOutput Collect() override {
    const int now_running = ++running_;
    max_running_ = std::max(max_running_.load(), now_running);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      starts_.push_back(clock_.SteadyNow());
    }
    if (options_.work > 0s) timers_.Advance(options_.work);
    if (options_.blocks) {
      std::unique_lock<std::mutex> lock(mutex_);
      cancelled_cv_.wait(lock, [this] { return cancelled_; });
    }
    --running_;
    ++runs_;
    CollectOutput output;
    auto family = MakeFamily("fake_runs", "Runs.", prometheus::MetricType::Gauge);
    AddSample(family, {{"collector", name()}}, runs_);
    output.families.push_back(family);
    const std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) output.status = Status::Error("cancelled");
    cancelled_ = false;
    return output;
  }
  void Cancel() override {
    const std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    cancelled_cv_.notify_all();
  }

  std::vector<TimePoint> starts() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return starts_;
  }
  bool started() const { return !starts().empty(); }

  std::atomic<int> runs_{0};  // finished cycles
  std::atomic<int> running_{0};
  std::atomic<int> max_running_{0};

 protected:
  // The frame (name, interval, timeout) is all a reload compares.
  bool SameSettings(const Collector& other) const override {
    return Collector::SameSettings(other);
  }

 private:
  const FakeTimers& timers_;
  const FakeClock& clock_;
  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable cancelled_cv_;
  bool cancelled_ = false;
  std::vector<TimePoint> starts_;
};

// An asynchronous collector whose cycles throw: from CollectAsync itself, or from a handler it
// posted, after taking `done` along.
class ThrowingAsyncCollector : public Collector {
 public:
  enum class Where { kInCollectAsync, kInItsHandler };
  ThrowingAsyncCollector(std::string name, Where where)
      : Collector({std::move(name), 10s, 5s}), where_(where) {}

  void CollectAsync(boost::asio::io_context& io, Done done) override {
    ++runs_;
    if (where_ == Where::kInCollectAsync) throw std::runtime_error("boom");
    boost::asio::post(io, [done = std::move(done)] {
      throw std::runtime_error("boom in a handler");
      done({});  // never reached: the exception drops `done`
    });
  }
  std::atomic<int> runs_{0};

 protected:
  bool SameSettings(const Collector& /*other*/) const override { return false; }

 private:
  Where where_;
};

// A SQL collector that runs one statement per cycle, for the store's reconnect backoff.
class PingCollector : public SqlCollector {
 public:
  PingCollector(const StoreConfig& store, StoreCollectorDeps deps)
      : SqlCollector("ping", store, store.interval, store.timeout, std::move(deps)) {}

 protected:
  bool SameSettings(const Collector& other) const override {
    return SqlCollector::SameSettings(other);
  }
  Status Read(SnapshotReader& reader) override {
    return reader.Query("ping", "SELECT 1", {}).status();
  }
  std::vector<prometheus::MetricFamily> Families() const override { return {}; }
};

class SchedulerTest : public testing::Test {
 protected:
  void TearDown() override {
    scheduler_.Stop(2s);
    io_.poll();  // the posted timer cancels, which release the slots
  }

  std::shared_ptr<FakeCollector> Fake(std::string name, FakeCollector::Options options) {
    return std::make_shared<FakeCollector>(std::move(name), timers_, clock_, options);
  }

  // Runs the io_context's handlers on this thread until `done` holds. The real-time limit only
  // ends a test that hangs; no result depends on real time.
  void RunUntil(const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > limit) {
        ADD_FAILURE() << "the awaited condition never held";
        return;
      }
      try {
        io_.run_one_for(5ms);
      } catch (const std::exception& e) {
        handler_errors_.emplace_back(e.what());  // what RunEventLoop would log
      }
    }
  }
  void Advance(Duration by) { timers_.Advance(by); }

  CollectorState StateOf(const std::string& name) {
    for (const auto& state : scheduler_.States()) {
      if (state.name == name) return state;
    }
    return {};
  }
  std::function<bool()> HasRun(const std::string& name) {
    return [this, name] { return StateOf(name).has_run; };
  }
  std::function<bool()> Runs(const FakeCollector& fake, int runs) {
    return [&fake, runs] { return fake.runs_.load() >= runs; };
  }

  FakeClock clock_;
  FakeTimers timers_{clock_};
  const TimePoint t0_ = clock_.SteadyNow();
  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  Scheduler scheduler_{io_, log_, clock_, timers_};
  std::vector<std::string> handler_errors_;
};

TEST_F(SchedulerTest, RunsAtOnceThenOneIntervalAfterEachStart) {
  auto fake = Fake("a", {.interval = 10s});
  scheduler_.Apply({fake});
  // The first cycle runs at once; the next one is armed one interval after it started.
  RunUntil([&] { return timers_.Deadlines() == std::vector<TimePoint>{t0_ + 10s}; });
  EXPECT_EQ(fake->runs_.load(), 1);
  Advance(10s);
  RunUntil(Runs(*fake, 2));
  EXPECT_EQ(fake->starts(), (std::vector<TimePoint>{t0_, t0_ + 10s}));
}

TEST_F(SchedulerTest, CyclesLongerThanTheIntervalQueueWithoutOverlapping) {
  auto slow = Fake("slow", {.interval = 10s, .work = 30s, .timeout = 1h});
  scheduler_.Apply({slow});
  RunUntil(Runs(*slow, 3));
  // Each cycle starts when the previous one ends, as its interval is already past.
  EXPECT_EQ(slow->starts(), (std::vector<TimePoint>{t0_, t0_ + 30s, t0_ + 60s}));
  EXPECT_EQ(slow->max_running_.load(), 1);
  EXPECT_DOUBLE_EQ(StateOf("slow").last_duration_seconds, 30);
}

TEST_F(SchedulerTest, SlowCollectorDoesNotDelayAnother) {
  auto stuck = Fake("stuck", {.blocks = true, .timeout = 1h});
  auto fast = Fake("fast", {.interval = 10s});
  scheduler_.Apply({stuck, fast});
  RunUntil([&] { return stuck->started() && fast->runs_ == 1; });
  for (int cycle = 2; cycle <= 4; ++cycle) {
    Advance(10s);
    RunUntil(Runs(*fast, cycle));
  }
  EXPECT_EQ(stuck->runs_.load(), 0);
  EXPECT_TRUE(StateOf("fast").success);
  EXPECT_TRUE(StateOf("stuck").running);
}

TEST_F(SchedulerTest, CancelsACycleAtItsTimeoutAndRecordsTheFailure) {
  auto hanging = Fake("hanging", {.interval = 1h, .blocks = true, .timeout = 2s});
  scheduler_.Apply({hanging});
  RunUntil([&] { return hanging->started(); });
  Advance(1999ms);
  io_.poll();
  EXPECT_FALSE(StateOf("hanging").has_run);
  Advance(1ms);
  RunUntil(HasRun("hanging"));
  const CollectorState state = StateOf("hanging");
  EXPECT_FALSE(state.success);
  EXPECT_EQ(state.last_error, "timed out after 2s: cancelled");
  EXPECT_DOUBLE_EQ(state.last_duration_seconds, 2);
  EXPECT_NE(log_output_.str().find("msg=\"collection timed out, cancelling\" collector=hanging"),
            std::string::npos);
}

TEST_F(SchedulerTest, RecordsTheTimesOfTheLastRunAndSuccessOnTheClock) {
  auto fake = Fake("a", {.interval = 10s, .work = 3s, .timeout = 1h});
  scheduler_.Apply({fake});
  RunUntil(HasRun("a"));
  const CollectorState state = StateOf("a");
  const auto wall_start = std::chrono::system_clock::time_point(FakeClock::kStartWall);
  EXPECT_EQ(state.last_run, wall_start);
  EXPECT_EQ(state.last_success, wall_start + 3s);
}

TEST_F(SchedulerTest, ServesTheLastFamilies) {
  auto fake = Fake("a", {.interval = 1h});
  scheduler_.Apply({fake});
  RunUntil(HasRun("a"));
  const auto families = scheduler_.Families();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "fake_runs");
  EXPECT_EQ(families[0].metric[0].gauge.value, 1);
}

TEST_F(SchedulerTest, PreparesEachCollectorsFamiliesWhenItsCycleEnds) {
  auto a = Fake("a", {.interval = 1h});
  auto b = Fake("b", {.interval = 1h});
  scheduler_.Apply({a, b});
  RunUntil([&] { return scheduler_.Prepared().size() == 2; });
  const std::vector<PreparedPart> parts = scheduler_.Prepared();
  EXPECT_EQ(parts[0]->text(), Serialize({scheduler_.Families().at(0)}));
  // Both export fake_runs: one HELP and TYPE, then each collector's sample in collector order.
  EXPECT_EQ(Concatenate({parts[0].get(), parts[1].get()}),
            "# HELP fake_runs Runs.\n"
            "# TYPE fake_runs gauge\n"
            "fake_runs{collector=\"a\"} 1\n"
            "fake_runs{collector=\"b\"} 1\n");
}

TEST_F(SchedulerTest, ACollectorIsLeftOutOfThePreparedPartsUntilItsFirstCycleEnds) {
  auto done = Fake("done", {.interval = 1h});
  auto busy = Fake("busy", {.interval = 1h, .blocks = true, .timeout = 1h});
  scheduler_.Apply({done, busy});
  RunUntil([&] { return StateOf("done").has_run && busy->started(); });
  const std::vector<PreparedPart> parts = scheduler_.Prepared();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0]->text(),
            "# HELP fake_runs Runs.\n# TYPE fake_runs gauge\nfake_runs{collector=\"done\"} 1\n");
}

TEST_F(SchedulerTest, ANewCycleMakesANewPreparedPart) {
  auto fast = Fake("fast", {.interval = 10s});
  scheduler_.Apply({fast});
  RunUntil(HasRun("fast"));
  const PreparedPart first = scheduler_.Prepared().at(0);
  Advance(10s);
  RunUntil([&] { return scheduler_.Prepared().at(0) != first; });
  const PreparedPart later = scheduler_.Prepared().at(0);
  EXPECT_NE(first->text(), later->text());  // fake_runs counts the cycles
}

TEST_F(SchedulerTest, ApplyKeepsUnchangedCollectorsAndReplacesChangedOnes) {
  auto kept = Fake("kept", {.interval = 1h});
  auto changed = Fake("changed", {.interval = 1h});
  scheduler_.Apply({kept, changed});
  RunUntil([&] { return kept->runs_ == 1 && changed->runs_ == 1; });

  Advance(30min);
  auto kept_again = Fake("kept", {.interval = 1h});
  auto changed_again = Fake("changed", {.interval = 2h});
  scheduler_.Apply({kept_again, changed_again});
  RunUntil(Runs(*changed_again, 1));       // the changed one was replaced and ran at once
  EXPECT_EQ(kept_again->runs_.load(), 0);  // the new twin was not started
  EXPECT_EQ(scheduler_.States().size(), 2u);

  // The kept one keeps its schedule; the replaced one never runs again.
  Advance(30min);
  RunUntil(Runs(*kept, 2));
  EXPECT_EQ(kept->starts(), (std::vector<TimePoint>{t0_, t0_ + 1h}));
  EXPECT_EQ(changed->runs_.load(), 1);
}

TEST_F(SchedulerTest, ApplyCancelsTheRunningCycleOfARemovedCollector) {
  auto removed = Fake("removed", {.interval = 1h, .blocks = true, .timeout = 1h});
  scheduler_.Apply({removed});
  RunUntil([&] { return removed->started(); });
  scheduler_.Apply({});
  RunUntil(Runs(*removed, 1));
  EXPECT_TRUE(scheduler_.States().empty());
}

TEST_F(SchedulerTest, StopCancelsARunningCycleAndWaitsForIt) {
  auto stuck = Fake("stuck", {.interval = 1h, .blocks = true, .timeout = 1h});
  scheduler_.Apply({stuck});
  RunUntil([&] { return stuck->started(); });
  // Cancel() ends the fake's cycle, so the stop completes well within the grace.
  EXPECT_TRUE(scheduler_.Stop(10s));
  EXPECT_EQ(stuck->runs_.load(), 1);
  EXPECT_TRUE(scheduler_.States().empty());
}

TEST_F(SchedulerTest, NoCycleStartsAfterStop) {
  auto fake = Fake("a", {.interval = 10s});
  scheduler_.Apply({fake});
  RunUntil(Runs(*fake, 1));
  EXPECT_TRUE(scheduler_.Stop(2s));
  io_.poll();
  Advance(1h);
  io_.poll();
  EXPECT_EQ(fake->runs_.load(), 1);
  EXPECT_TRUE(timers_.Deadlines().empty());
}

TEST_F(SchedulerTest, AFailingStoreIsRetriedOnTheBackoffNotEveryCycle) {
  std::shared_ptr<FakeStore> store = FakeStore::Make();
  store->FailConnect("connection refused");
  StoreConfig config;
  config.interval = 10s;
  config.max_backoff = 40s;
  StoreCollectorDeps deps = store->Deps(log_);
  deps.now = SteadyOf(clock_);
  auto ping = std::make_shared<PingCollector>(config, deps);
  scheduler_.Apply({ping});
  std::vector<int> attempts;  // connect attempts after each cycle, one cycle per interval
  for (int cycle = 0; cycle <= 10; ++cycle) {
    if (cycle > 0) Advance(10s);
    // The cycle has ended when the next one is armed, one interval on.
    RunUntil(
        [&] { return timers_.Deadlines() == std::vector<TimePoint>{clock_.SteadyNow() + 10s}; });
    attempts.push_back(store->connect_attempts());
    EXPECT_EQ(StateOf("ping").last_error,
              "outcomes store: cannot connect to fake: connection refused");
  }
  // Attempts at 0s, 10s, 30s and 70s: the wait doubles from one interval up to max_backoff.
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4}));

  store->AllowConnect();
  store->SetRows("ping", {{"1"}});
  Advance(10s);  // 110s: the next attempt is due and succeeds
  RunUntil([&] { return StateOf("ping").success; });
  EXPECT_EQ(store->connect_attempts(), 5);
}

TEST_F(SchedulerTest, AnAsynchronousCycleThatThrowsFailsAndTheNextOneRuns) {
  auto throwing = std::make_shared<ThrowingAsyncCollector>(
      "throwing", ThrowingAsyncCollector::Where::kInCollectAsync);
  scheduler_.Apply({throwing});
  RunUntil(HasRun("throwing"));
  for (int cycle = 2; cycle <= 3; ++cycle) {
    Advance(10s);
    RunUntil([&] { return throwing->runs_.load() >= cycle; });
  }
  const CollectorState state = StateOf("throwing");
  EXPECT_FALSE(state.success);
  EXPECT_EQ(state.last_error, "unexpected exception: boom");
}

TEST_F(SchedulerTest, AnExceptionInAnAsynchronousHandlerFailsTheCycleAndTheNextOneRuns) {
  auto throwing = std::make_shared<ThrowingAsyncCollector>(
      "throwing", ThrowingAsyncCollector::Where::kInItsHandler);
  scheduler_.Apply({throwing});
  RunUntil(HasRun("throwing"));
  Advance(10s);
  RunUntil([&] { return throwing->runs_.load() >= 2 && !StateOf("throwing").running; });
  const CollectorState state = StateOf("throwing");
  EXPECT_FALSE(state.success);  // not stuck "running" after the first one
  EXPECT_EQ(state.last_error, "the cycle ended without a result (an unexpected exception)");
  EXPECT_EQ(handler_errors_, (std::vector<std::string>{"boom in a handler", "boom in a handler"}));
}

TEST(RunEventLoopTest, LogsAnExceptionThatEscapesAHandlerAndRunsTheRest) {
  std::ostringstream output;
  Logger log{output, LogLevel::kInfo, LogFormat::kLogfmt};
  boost::asio::io_context io;
  bool later_ran = false;
  boost::asio::post(io, [] { throw std::runtime_error("boom in a handler"); });
  boost::asio::post(io, [&] { later_ran = true; });
  RunEventLoop(io, log);  // returns when out of work
  EXPECT_TRUE(later_ran);
  EXPECT_NE(output.str().find("msg=\"unexpected exception in an event handler, continuing\" "
                              "err=\"boom in a handler\""),
            std::string::npos)
      << output.str();
}

}  // namespace
}  // namespace outcomes
