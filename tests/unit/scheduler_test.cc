#include "exporter/scheduling/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <sstream>
#include <thread>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;

// A collector whose cycles take `work` and that records how often and how concurrently it ran.
class FakeCollector : public Collector {
 public:
  FakeCollector(std::string name, Duration interval, Duration work, Duration timeout = 5s)
      : name_(std::move(name)), interval_(interval), work_(work), timeout_(timeout) {}

  const std::string& name() const override { return name_; }
  Duration interval() const override { return interval_; }
  Duration timeout() const override { return timeout_; }
  CollectOutput Collect() override {
    const int now_running = ++running_;
    max_running_ = std::max(max_running_.load(), now_running);
    const auto until = std::chrono::steady_clock::now() + work_;
    while (std::chrono::steady_clock::now() < until && !cancelled_) {
      std::this_thread::sleep_for(1ms);
    }
    --running_;
    ++runs_;
    CollectOutput output;
    auto family = MakeFamily("fake_runs", "Runs.", prometheus::MetricType::Gauge);
    AddSample(family, {{"collector", name_}}, runs_);
    output.families.push_back(family);
    if (cancelled_.exchange(false)) output.status = Status::Error("cancelled");
    return output;
  }
  void Cancel() override { cancelled_ = true; }
  bool SameConfig(const Collector& other) const override {
    const auto* fake = dynamic_cast<const FakeCollector*>(&other);
    return fake != nullptr && fake->interval_ == interval_;
  }

  std::atomic<int> runs_{0};
  std::atomic<int> running_{0};
  std::atomic<int> max_running_{0};

 private:
  std::string name_;
  Duration interval_;
  Duration work_;
  Duration timeout_;
  std::atomic<bool> cancelled_{false};
};

// An asynchronous collector whose cycles throw: from CollectAsync itself, or from a handler it
// posted, after taking `done` along.
class ThrowingAsyncCollector : public Collector {
 public:
  enum class Where { kInCollectAsync, kInItsHandler };
  ThrowingAsyncCollector(std::string name, Where where) : name_(std::move(name)), where_(where) {}

  const std::string& name() const override { return name_; }
  Duration interval() const override { return 20ms; }
  Duration timeout() const override { return 5s; }
  bool asynchronous() const override { return true; }
  void CollectAsync(boost::asio::io_context& io, std::function<void(CollectOutput)> done) override {
    ++runs_;
    if (where_ == Where::kInCollectAsync) throw std::runtime_error("boom");
    boost::asio::post(io, [done = std::move(done)] {
      throw std::runtime_error("boom in a handler");
      done({});  // never reached: the exception drops `done`
    });
  }
  bool SameConfig(const Collector& /*other*/) const override { return false; }

  std::atomic<int> runs_{0};

 private:
  std::string name_;
  Where where_;
};

class SchedulerTest : public testing::Test {
 protected:
  void SetUp() override {
    io_thread_ = std::thread([this] { RunEventLoop(io_, log_); });
  }
  void TearDown() override {
    scheduler_.Stop(2s);
    guard_.reset();
    io_.stop();
    io_thread_.join();
  }
  void ApplyOnIo(const std::vector<std::shared_ptr<Collector>>& collectors) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      scheduler_.Apply(collectors);
      done.set_value();
    });
    done.get_future().wait();
  }
  CollectorState StateOf(const std::string& name) {
    for (const auto& state : scheduler_.States()) {
      if (state.name == name) return state;
    }
    return {};
  }

  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  Scheduler scheduler_{io_, log_};
  std::thread io_thread_;
};

TEST_F(SchedulerTest, RunsOnItsIntervalWithoutOverlapping) {
  // Cycles take longer than the interval: they must queue, never overlap.
  auto slow = std::make_shared<FakeCollector>("slow", 10ms, 30ms);
  ApplyOnIo({slow});
  std::this_thread::sleep_for(300ms);
  EXPECT_GE(slow->runs_.load(), 3);
  EXPECT_EQ(slow->max_running_.load(), 1);
}

TEST_F(SchedulerTest, SlowCollectorDoesNotDelayAnother) {
  auto stuck = std::make_shared<FakeCollector>("stuck", 50ms, 10s, 10s);
  auto fast = std::make_shared<FakeCollector>("fast", 20ms, 0ms);
  ApplyOnIo({stuck, fast});
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(stuck->runs_.load(), 0);
  EXPECT_GE(fast->runs_.load(), 5);
  EXPECT_TRUE(StateOf("fast").success);
}

TEST_F(SchedulerTest, CancelsACycleAtItsTimeoutAndRecordsTheFailure) {
  auto hanging = std::make_shared<FakeCollector>("hanging", 1s, 10s, 100ms);
  ApplyOnIo({hanging});
  std::this_thread::sleep_for(500ms);
  const CollectorState state = StateOf("hanging");
  ASSERT_TRUE(state.has_run);
  EXPECT_FALSE(state.success);
  EXPECT_EQ(state.last_error, "timed out after 100ms: cancelled");
  EXPECT_NE(log_output_.str().find("msg=\"collection timed out, cancelling\" collector=hanging"),
            std::string::npos);
}

TEST_F(SchedulerTest, ServesTheLastFamilies) {
  auto fake = std::make_shared<FakeCollector>("a", 1h, 0ms);
  ApplyOnIo({fake});
  std::this_thread::sleep_for(100ms);
  const auto families = scheduler_.Families();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "fake_runs");
  EXPECT_EQ(families[0].metric[0].gauge.value, 1);
}

TEST_F(SchedulerTest, PreparesEachCollectorsFamiliesWhenItsCycleEnds) {
  auto a = std::make_shared<FakeCollector>("a", 1h, 0ms);
  auto b = std::make_shared<FakeCollector>("b", 1h, 0ms);
  ApplyOnIo({a, b});
  std::this_thread::sleep_for(100ms);
  const std::vector<PreparedPart> parts = scheduler_.Prepared();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]->text(), Serialize({scheduler_.Families().at(0)}));
  // Both export fake_runs: one HELP and TYPE, then each collector's sample in collector order.
  EXPECT_EQ(Concatenate({parts[0].get(), parts[1].get()}),
            "# HELP fake_runs Runs.\n"
            "# TYPE fake_runs gauge\n"
            "fake_runs{collector=\"a\"} 1\n"
            "fake_runs{collector=\"b\"} 1\n");
}

TEST_F(SchedulerTest, ACollectorIsLeftOutOfThePreparedPartsUntilItsFirstCycleEnds) {
  auto done = std::make_shared<FakeCollector>("done", 1h, 0ms);
  auto busy = std::make_shared<FakeCollector>("busy", 1h, 2s);
  ApplyOnIo({done, busy});
  std::this_thread::sleep_for(100ms);
  const std::vector<PreparedPart> parts = scheduler_.Prepared();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0]->text(),
            "# HELP fake_runs Runs.\n# TYPE fake_runs gauge\nfake_runs{collector=\"done\"} 1\n");
}

TEST_F(SchedulerTest, ANewCycleMakesANewPreparedPart) {
  auto fast = std::make_shared<FakeCollector>("fast", 20ms, 0ms);
  ApplyOnIo({fast});
  std::this_thread::sleep_for(50ms);
  const PreparedPart first = scheduler_.Prepared().at(0);
  std::this_thread::sleep_for(100ms);
  const PreparedPart later = scheduler_.Prepared().at(0);
  EXPECT_NE(first, later);
  EXPECT_NE(first->text(), later->text());  // fake_runs counts the cycles
}

TEST_F(SchedulerTest, ApplyKeepsUnchangedCollectorsAndReplacesChangedOnes) {
  auto kept = std::make_shared<FakeCollector>("kept", 1h, 0ms);
  auto changed = std::make_shared<FakeCollector>("changed", 1h, 0ms);
  ApplyOnIo({kept, changed});
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(kept->runs_.load(), 1);

  auto kept_again = std::make_shared<FakeCollector>("kept", 1h, 0ms);
  auto changed_again = std::make_shared<FakeCollector>("changed", 2h, 0ms);
  ApplyOnIo({kept_again, changed_again});
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(kept->runs_.load(), 1);           // still the same instance, not re-run
  EXPECT_EQ(kept_again->runs_.load(), 0);     // the new twin was not started
  EXPECT_EQ(changed_again->runs_.load(), 1);  // the changed one was replaced and ran
  EXPECT_EQ(scheduler_.States().size(), 2u);
}

TEST_F(SchedulerTest, StopIsBoundedByTheGraceEvenWithAStuckCycle) {
  auto stuck = std::make_shared<FakeCollector>("stuck", 1h, 60s, 1h);
  ApplyOnIo({stuck});
  std::this_thread::sleep_for(50ms);
  const auto started = std::chrono::steady_clock::now();
  // Cancel() ends the fake's cycle, so the stop completes well within the grace.
  EXPECT_TRUE(scheduler_.Stop(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(SchedulerTest, AnAsynchronousCycleThatThrowsFailsAndTheNextOneRuns) {
  auto throwing = std::make_shared<ThrowingAsyncCollector>(
      "throwing", ThrowingAsyncCollector::Where::kInCollectAsync);
  ApplyOnIo({throwing});
  std::this_thread::sleep_for(200ms);
  EXPECT_GE(throwing->runs_.load(), 3);
  const CollectorState state = StateOf("throwing");
  EXPECT_FALSE(state.success);
  EXPECT_EQ(state.last_error, "unexpected exception: boom");
}

TEST_F(SchedulerTest, AnExceptionInAnAsynchronousHandlerFailsTheCycleAndTheLoopGoesOn) {
  auto throwing = std::make_shared<ThrowingAsyncCollector>(
      "throwing", ThrowingAsyncCollector::Where::kInItsHandler);
  auto fast = std::make_shared<FakeCollector>("fast", 20ms, 0ms);
  ApplyOnIo({throwing, fast});
  std::this_thread::sleep_for(200ms);
  EXPECT_GE(throwing->runs_.load(), 3);  // not stuck "running" after the first one
  const CollectorState state = StateOf("throwing");
  EXPECT_FALSE(state.success);
  EXPECT_EQ(state.last_error, "the cycle ended without a result (an unexpected exception)");
  EXPECT_GE(fast->runs_.load(), 3);
  EXPECT_NE(log_output_.str().find("msg=\"unexpected exception in an event handler, continuing\" "
                                   "err=\"boom in a handler\""),
            std::string::npos)
      << log_output_.str();
}

}  // namespace
}  // namespace outcomes
