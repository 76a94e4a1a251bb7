// The collector frame: SameConfig() from the type, frame and settings, the error prefix, and
// BlockingCollector, the adapter that runs a blocking Collect() on the collector's own worker
// thread behind the asynchronous contract. The tests wait for events, never for time.
#include "exporter/collectors/collector.h"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>

namespace outcomes {
namespace {

using namespace std::chrono_literals;

// Collect() returns `message` as its error, throws it when `throws`, or waits for Cancel()
// when `blocks`.
class ScriptedCollector : public BlockingCollector {
 public:
  struct Script {
    bool throws = false;
    bool blocks = false;
    int blocks_from_run = 1;  // with `blocks`: the first cycle that waits for Cancel()
  };
  explicit ScriptedCollector(Script script)
      : BlockingCollector({"scripted", 1s, 1s}), script_(script) {}
  CollectOutput Collect() override {
    thread_ = std::this_thread::get_id();
    if (script_.throws) throw std::runtime_error("boom");
    if (script_.blocks && ++runs_ >= script_.blocks_from_run) {
      started_.set_value();
      cancelled_.get_future().wait();
    }
    return {Status::Error("collected"), {}};
  }
  void Cancel() override { cancelled_.set_value(); }
  void WaitUntilBlocked() { started_.get_future().wait(); }

  std::thread::id thread_;

 protected:
  bool SameSettings(const Collector& /*other*/) const override { return false; }

 private:
  const Script script_;
  int runs_ = 0;
  std::promise<void> started_;
  std::promise<void> cancelled_;
};

// Runs one cycle through the contract and returns what `done` got.
CollectOutput RunCycle(const std::shared_ptr<Collector>& collector) {
  boost::asio::io_context io;
  std::promise<CollectOutput> output;
  collector->CollectAsync(io, [&](CollectOutput out) { output.set_value(std::move(out)); });
  return output.get_future().get();
}

TEST(BlockingCollectorTest, RunsCollectOnItsOwnThreadAndPassesItsOutputToDone) {
  auto collector = std::make_shared<ScriptedCollector>(ScriptedCollector::Script{});
  EXPECT_EQ(RunCycle(collector).status.message(), "collected");
  EXPECT_NE(collector->thread_, std::this_thread::get_id());
  const std::thread::id first = collector->thread_;
  (void)RunCycle(collector);
  EXPECT_EQ(collector->thread_, first);  // one worker thread for every cycle
}

TEST(BlockingCollectorTest, AnExceptionFromCollectFailsTheCycle) {
  auto collector = std::make_shared<ScriptedCollector>(ScriptedCollector::Script{.throws = true});
  EXPECT_EQ(RunCycle(collector).status.message(), "unexpected exception: boom");
}

TEST(BlockingCollectorTest, AwaitIdleWaitsForTheRunningCycle) {
  auto collector = std::make_shared<ScriptedCollector>(ScriptedCollector::Script{.blocks = true});
  boost::asio::io_context io;
  std::promise<void> done;
  collector->CollectAsync(io, [&](const CollectOutput&) { done.set_value(); });
  EXPECT_FALSE(collector->AwaitIdle(std::chrono::steady_clock::now()));
  collector->Cancel();
  done.get_future().wait();
  EXPECT_TRUE(collector->AwaitIdle(std::chrono::steady_clock::now() + 10s));
}

// Regression: the next cycle, handed over from the last one's `done`, counted as idle.
TEST(BlockingCollectorTest, ACycleHandedOverFromTheLastOnesDoneIsNotIdle) {
  auto collector = std::make_shared<ScriptedCollector>(
      ScriptedCollector::Script{.blocks = true, .blocks_from_run = 2});
  boost::asio::io_context io;
  std::promise<void> second_done;
  collector->CollectAsync(io, [&](const CollectOutput&) {
    collector->CollectAsync(io, [&](const CollectOutput&) { second_done.set_value(); });
  });
  collector->WaitUntilBlocked();
  EXPECT_FALSE(collector->AwaitIdle(std::chrono::steady_clock::now()));
  collector->Cancel();
  second_done.get_future().wait();
  EXPECT_TRUE(collector->AwaitIdle(std::chrono::steady_clock::now() + 10s));
}

TEST(BlockingCollectorTest, ACycleKeepsItsCollectorAliveUntilItEnds) {
  auto collector = std::make_shared<ScriptedCollector>(ScriptedCollector::Script{.blocks = true});
  const std::weak_ptr<ScriptedCollector> watch = collector;
  boost::asio::io_context io;
  std::promise<void> done;
  collector->CollectAsync(io, [&](const CollectOutput&) { done.set_value(); });
  ScriptedCollector& running = *collector;
  collector.reset();
  EXPECT_FALSE(watch.expired());
  // The cycle's end drops the last owner, on the worker thread, which then ends on its own.
  running.Cancel();
  done.get_future().wait();
  while (!watch.expired()) std::this_thread::yield();
}

TEST(BlockingCollectorTest, ACollectorNotOwnedByASharedPtrFailsAtStart) {
  ScriptedCollector collector(ScriptedCollector::Script{});
  boost::asio::io_context io;
  EXPECT_THROW(collector.CollectAsync(io, [](const CollectOutput&) {}), std::bad_weak_ptr);
}

// Two collector types over the same settings type, which a reload must still tell apart.
template <int kKind>
class SettledCollector : public WithSettings<Collector, std::string> {
 public:
  SettledCollector(const std::string& settings, CollectorFrame frame)
      : WithSettings(settings, std::move(frame)) {}
  void CollectAsync(boost::asio::io_context& /*io*/, Done done) override { done({}); }
};
using KindA = SettledCollector<1>;
using KindB = SettledCollector<2>;

TEST(CollectorFrameTest, TheSameTypeFrameAndSettingsAreTheSameConfig) {
  EXPECT_TRUE(KindA("x", {"a", 1s, 2s}).SameConfig(KindA("x", {"a", 1s, 2s})));
}

TEST(CollectorFrameTest, OtherSettingsAreAnotherConfig) {
  EXPECT_FALSE(KindA("x", {"a", 1s, 2s}).SameConfig(KindA("y", {"a", 1s, 2s})));
}

TEST(CollectorFrameTest, AnotherFrameIsAnotherConfig) {
  EXPECT_FALSE(KindA("x", {"a", 1s, 2s}).SameConfig(KindA("x", {"a", 1s, 3s})));
  EXPECT_FALSE(KindA("x", {"a", 1s, 2s}).SameConfig(KindA("x", {"a", 5s, 2s})));
}

TEST(CollectorFrameTest, AnotherTypeIsAnotherConfigEvenWithEqualSettings) {
  EXPECT_FALSE(KindA("x", {"a", 1s, 2s}).SameConfig(KindB("x", {"a", 1s, 2s})));
}

TEST(CollectorFrameTest, TheErrorPrefixNamesTheKindAndTheInstance) {
  EXPECT_EQ(KindA("x", {"endpoint/reco-api", 1s, 2s}).ErrorPrefix(), "endpoint reco-api: ");
  EXPECT_EQ(KindA("x", {"store", 1s, 2s}).ErrorPrefix(), "store: ");
}

}  // namespace
}  // namespace outcomes
