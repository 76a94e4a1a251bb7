#include "exporter/scheduling/timer.h"

#include <boost/asio/steady_timer.hpp>

namespace outcomes {
namespace {

class AsioTimer : public Timer {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer_(io) {}

  void At(std::chrono::steady_clock::time_point when, std::function<void()> fire) override {
    timer_.expires_at(when);
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& error) {
      if (!error) fire();
    });
  }
  void Cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

class AsioTimerFactory : public Timers {
 public:
  std::unique_ptr<Timer> Make(boost::asio::io_context& io) const override {
    return std::make_unique<AsioTimer>(io);
  }
};

}  // namespace

const Timers& AsioTimers() {
  static const AsioTimerFactory kFactory;
  return kFactory;
}

}  // namespace outcomes
