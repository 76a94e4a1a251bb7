// The fake store itself: what collector tests rely on it to do.
#include "tests/support/fake_store_session.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

namespace outcomes::testing_support {
namespace {

class FakeStoreTest : public ::testing::Test {
 protected:
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  std::unique_ptr<StoreSession> session_ = store_->SessionFactory()(SessionOptions{});
};

Result<std::vector<Row>> RunOne(StoreSession& session, const std::string& name,
                                const std::string& sql) {
  Result<std::vector<Row>> out = Status::Error("body not run");
  Status status = session.InSnapshot([&](SnapshotReader& reader) {
    out = reader.Query(name, sql, {"p1"});
    return out.status();
  });
  if (!status.ok()) return status;
  return out;
}

TEST_F(FakeStoreTest, RowsByNameThenBySqlFragmentAndUnscriptedStatementsFail) {
  ASSERT_TRUE(session_->Connect().ok());
  store_->SetRows("named", {{"1", std::nullopt}});
  store_->SetRowsForSql("FROM feedback", {{"2"}});
  const auto named = RunOne(*session_, "named", "SELECT 1");
  ASSERT_TRUE(named.ok()) << named.error();
  EXPECT_EQ(named.value(), (std::vector<Row>{{"1", std::nullopt}}));
  const auto matched = RunOne(*session_, "other", "SELECT x FROM feedback f");
  ASSERT_TRUE(matched.ok()) << matched.error();
  EXPECT_EQ(matched.value(), (std::vector<Row>{{"2"}}));
  const auto unscripted = RunOne(*session_, "unknown", "SELECT 3");
  EXPECT_EQ(unscripted.error(),
            "outcomes store: query unknown: the fake store has no rows for this statement");
  ASSERT_EQ(store_->statements().size(), 3u);
  EXPECT_EQ(store_->statements("named").at(0).params, std::vector<std::string>{"p1"});
}

TEST_F(FakeStoreTest, ConnectFailureDisconnectsUntilAllowed) {
  ASSERT_TRUE(session_->Connect().ok());
  store_->FailConnect("connection refused");
  EXPECT_FALSE(session_->connected());
  EXPECT_EQ(session_->Connect().message(),
            "outcomes store: cannot connect to fake: connection refused");
  store_->AllowConnect();
  EXPECT_TRUE(session_->Connect().ok());
  EXPECT_EQ(store_->connect_attempts(), 3);
}

TEST_F(FakeStoreTest, QueryFailureCanDropTheConnection) {
  ASSERT_TRUE(session_->Connect().ok());
  store_->FailQuery("q", "server closed the connection unexpectedly", true);
  EXPECT_EQ(RunOne(*session_, "q", "SELECT 1").error(),
            "outcomes store: query q: server closed the connection unexpectedly");
  EXPECT_FALSE(session_->connected());
}

TEST_F(FakeStoreTest, BlockedQueryReturnsOnlyAfterCancel) {
  ASSERT_TRUE(session_->Connect().ok());
  store_->BlockQuery("slow");
  session_->Cancel();  // nothing in flight: no effect, as with pg_cancel_backend
  Result<std::vector<Row>> result = Status::Error("not run");
  std::thread worker([&] { result = RunOne(*session_, "slow", "SELECT pg_sleep(60)"); });
  ASSERT_TRUE(store_->WaitUntilBlocked());
  session_->Cancel();
  worker.join();
  EXPECT_EQ(result.error(),
            "outcomes store: query slow: ERROR:  canceling statement due to user request");
  EXPECT_EQ(store_->cancels(), 2);
}

}  // namespace
}  // namespace outcomes::testing_support
