// ReconnectingSession's backoff, on the fake clock and the fake store: no sleeps.
#include "exporter/store/reconnecting_session.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_store_session.h"

namespace outcomes::testing_support {
namespace {

using std::chrono::seconds;

class ReconnectingSessionTest : public ::testing::Test {
 protected:
  // Advances the clock one second at a time until Ensure() tries to connect again; returns
  // how long that took.
  seconds WaitForNextAttempt() {
    const int attempts = store_->connect_attempts();
    seconds waited{0};
    while (store_->connect_attempts() == attempts && waited < seconds(3600)) {
      clock_.Advance(seconds(1));
      waited += seconds(1);
      (void)session_.Ensure();  // only the attempts count here
    }
    return waited;
  }

  FakeClock clock_;
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kInfo, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  ReconnectingSession session_{store_->SessionFactory()(SessionOptions{}),
                               seconds(10),
                               seconds(60),
                               "store",
                               log_,
                               SteadyOf(clock_)};
};

TEST_F(ReconnectingSessionTest, WhileBackingOffReturnsTheLastErrorWithoutConnecting) {
  store_->FailConnect("connection refused");
  const Status first = session_.Ensure();
  EXPECT_EQ(first.message(), "outcomes store: cannot connect to fake: connection refused");
  clock_.Advance(seconds(9));
  EXPECT_EQ(session_.Ensure().message(), first.message());
  EXPECT_EQ(store_->connect_attempts(), 1);
  clock_.Advance(seconds(1));
  (void)session_.Ensure();  // only the attempts count here
  EXPECT_EQ(store_->connect_attempts(), 2);
}

TEST_F(ReconnectingSessionTest, TheBackoffDoublesFromOneIntervalUpToMaxBackoff) {
  store_->FailConnect("connection refused");
  (void)session_.Ensure();  // only the attempts count here
  std::vector<seconds> waits;
  for (int i = 0; i < 5; ++i) waits.push_back(WaitForNextAttempt());
  EXPECT_EQ(waits, (std::vector<seconds>{seconds(10), seconds(20), seconds(40), seconds(60),
                                         seconds(60)}));
}

TEST_F(ReconnectingSessionTest, ARestoredConnectionLogsTheOutageOnceAndResetsTheBackoff) {
  store_->FailConnect("connection refused");
  (void)session_.Ensure();  // only the attempts count here
  WaitForNextAttempt();     // 10 s
  WaitForNextAttempt();     // 20 s more
  store_->AllowConnect();
  WaitForNextAttempt();  // 40 s more: connects
  EXPECT_TRUE(session_.Ensure().ok());
  EXPECT_EQ(log_text_.str().find("outcomes store connection restored"),
            log_text_.str().rfind("outcomes store connection restored"));
  EXPECT_NE(log_text_.str().find("failed_attempts=3"), std::string::npos) << log_text_.str();
  EXPECT_NE(log_text_.str().find("outage=1m10s"), std::string::npos) << log_text_.str();
  // The next outage starts over at one interval.
  store_->FailConnect("connection refused");
  (void)session_.Ensure();  // only the attempts count here
  EXPECT_EQ(WaitForNextAttempt(), seconds(10));
}

}  // namespace
}  // namespace outcomes::testing_support
