// The store health collector ("store_health") against the fake store: the size, connection and
// oldest-transaction gauges, no open writing transaction, a failing statement.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/store_health.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

class StoreHealthCollectorTest : public ::testing::Test {
 protected:
  void ScriptHealthyStore() {
    store_->SetRows("store_health_sizes", {{"", "73400320"},
                                           {"recommendations", "41943040"},
                                           {"outcome_events", "25165824"},
                                           {"feedback", "4194304"},
                                           {"ab_tests", "16384"}});
    store_->SetRows("store_health_connections", {{"active", "1"}, {"idle", "4"}});
    store_->SetRows("store_health_oldest_transaction", {{"12.5"}});
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  StoreHealthCollector collector_{StoreConfig{}, StoreHealthConfig{}, store_->Deps(log_)};
};

TEST_F(StoreHealthCollectorTest, ExportsSizesConnectionsAndTheOldestTransaction) {
  ScriptHealthyStore();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto& families = output.families;
  EXPECT_EQ(Sample(families, "outcomes_store_database_size_bytes"), 73400320);
  EXPECT_EQ(Sample(families, "outcomes_store_table_size_bytes", {{"table", "outcome_events"}}),
            25165824);
  EXPECT_EQ(Sample(families, "outcomes_exporter_store_connections", {{"state", "idle"}}), 4);
  EXPECT_EQ(Sample(families, "outcomes_store_oldest_transaction_age_seconds"), 12.5);
  // The sidecar's own sessions, by the application_name it connects with.
  EXPECT_EQ(store_->statements("store_health_connections").at(0).params,
            (std::vector<std::string>{"outcomes_exporter"}));
  EXPECT_EQ(store_->statements("store_health_sizes").at(0).params,
            (std::vector<std::string>{
                R"({"recommendations","outcome_events","feedback","ab_tests"})",
                R"({"\"recommendations\"","\"outcome_events\"","\"feedback\"","\"ab_tests\""})"}));
}

TEST_F(StoreHealthCollectorTest, MatchesTheGoldenExposition) {
  ScriptHealthyStore();
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "store_health");
}

TEST_F(StoreHealthCollectorTest, NoWritingTransactionIsAnAgeOfZero) {
  ScriptHealthyStore();
  store_->SetRows("store_health_oldest_transaction", {{std::nullopt}});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_store_oldest_transaction_age_seconds"), 0);
}

TEST_F(StoreHealthCollectorTest, AFailingStatementKeepsTheLastGauges) {
  ScriptHealthyStore();
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->SetRows("store_health_oldest_transaction", {{"99"}});
  store_->FailQuery("store_health_connections", "ERROR:  permission denied");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: query store_health_connections: ERROR:  permission denied");
  EXPECT_EQ(Sample(output.families, "outcomes_store_oldest_transaction_age_seconds"), 12.5);
}

TEST_F(StoreHealthCollectorTest, NothingIsExportedBeforeTheFirstSuccess) {
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_FALSE(output.status.ok());
  EXPECT_TRUE(output.families.empty());
}

}  // namespace
}  // namespace outcomes::testing_support
