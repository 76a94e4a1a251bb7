// FakeTimers: Timers that go off when the test moves a FakeClock with Advance(), not when real
// time passes. Advance() posts the handlers that are due, in deadline order, to the timers'
// io_context; the test then runs that io_context. Thread-safe: timers may be armed from the
// scheduler's threads while the test advances the clock.
#pragma once

#include <boost/asio/post.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "exporter/scheduling/timer.h"
#include "tests/support/fake_clock.h"

namespace outcomes::testing_support {

class FakeTimers : public Timers {
 public:
  explicit FakeTimers(FakeClock& clock) : state_(std::make_shared<State>(clock)) {}
  // Drops the handlers still armed, outside the lock: they may own what owns a timer.
  ~FakeTimers() override {
    std::map<Key, Due> armed;
    {
      const std::lock_guard<std::mutex> lock(state_->mutex);
      armed.swap(state_->armed);
    }
  }
  FakeTimers(const FakeTimers&) = delete;
  FakeTimers& operator=(const FakeTimers&) = delete;

  std::unique_ptr<Timer> Make(boost::asio::io_context& io) const override {
    return std::make_unique<FakeTimer>(state_, io);
  }

  // Moves the clock by `by` and posts the handlers whose deadline has come.
  void Advance(Duration by) const {
    std::vector<Due> due;
    {
      const std::lock_guard<std::mutex> lock(state_->mutex);
      state_->clock.Advance(by);
      due = state_->TakeDue();
    }
    for (Due& handler : due) boost::asio::post(*handler.first, std::move(handler.second));
  }

  // The deadlines of the armed timers, earliest first.
  std::vector<std::chrono::steady_clock::time_point> Deadlines() const {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    std::vector<std::chrono::steady_clock::time_point> deadlines;
    for (const auto& [key, armed] : state_->armed) deadlines.push_back(key.first);
    return deadlines;
  }

 private:
  using Due = std::pair<boost::asio::io_context*, std::function<void()>>;
  using Key = std::pair<std::chrono::steady_clock::time_point, std::uint64_t>;  // deadline, id

  struct State {
    explicit State(FakeClock& fake) : clock(fake) {}
    // Removes and returns the handlers due on the clock; under `mutex`.
    std::vector<Due> TakeDue() {
      std::vector<Due> due;
      while (!armed.empty() && armed.begin()->first.first <= clock.SteadyNow()) {
        due.push_back(std::move(armed.begin()->second));
        armed.erase(armed.begin());
      }
      return due;
    }
    std::mutex mutex;
    FakeClock& clock;
    std::uint64_t next_id = 0;
    std::map<Key, Due> armed;
  };

  class FakeTimer : public Timer {
   public:
    FakeTimer(std::shared_ptr<State> state, boost::asio::io_context& io)
        : state_(std::move(state)), io_(io) {}
    ~FakeTimer() override { FakeTimer::Cancel(); }

    void At(std::chrono::steady_clock::time_point when, std::function<void()> fire) override {
      std::vector<Due> due;
      {
        const std::lock_guard<std::mutex> lock(state_->mutex);
        Disarm();
        key_ = Key{when, state_->next_id++};
        state_->armed.emplace(*key_, Due{&io_, std::move(fire)});
        due = state_->TakeDue();  // a deadline already past fires at once, as with Asio
      }
      for (Due& handler : due) boost::asio::post(*handler.first, std::move(handler.second));
    }
    void Cancel() override {
      const std::lock_guard<std::mutex> lock(state_->mutex);
      Disarm();
    }

   private:
    void Disarm() {
      if (key_) state_->armed.erase(*key_);
      key_.reset();
    }
    const std::shared_ptr<State> state_;
    boost::asio::io_context& io_;
    std::optional<Key> key_;
  };

  std::shared_ptr<State> state_;
};

}  // namespace outcomes::testing_support
