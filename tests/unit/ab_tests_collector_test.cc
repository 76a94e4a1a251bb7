// The A/B test collector ("ab_tests") against the fake store: per-variant and per-test
// families from the arms query, NULL and empty results, the store down, a cancelled cycle.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/ab_tests.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

// One row of ab_tests_arms: test, variant, variant_a, variant_b, traffic_share_b, customers,
// recommendations, converted customers, purchases, returns, revenue, satisfaction sum and
// count, sum of squared revenue per customer.
Row Arm(const std::string& variant, const std::string& customers, const std::string& converted,
        const std::string& revenue, std::optional<std::string> share = "0.5") {
  return {"homepage", variant, "control", "treatment", std::move(share),
          customers,  "3000",  converted, converted,   "2",
          revenue,    "40",    "10",      "90000"};
}

class AbTestsCollectorTest : public ::testing::Test {
 protected:
  void ScriptArms(std::vector<Row> rows, const std::string& has_split_column = "1") {
    store_->SetRows("ab_tests_split_column", {{has_split_column}});
    store_->SetRows("ab_tests_arms", std::move(rows));
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  AbTestsCollector collector_{StoreConfig{}, AbTestsConfig{}, store_->Deps(log_)};
};

TEST_F(AbTestsCollectorTest, ExportsEachVariantAndTheTestStatistics) {
  ScriptArms({Arm("control", "1000", "100", "2500.5"), Arm("treatment", "1000", "150", "3000")});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  const auto& families = output.families;
  const Labels control = {{"ab_test", "homepage"}, {"variant", "control"}};
  const Labels treatment = {{"ab_test", "homepage"}, {"variant", "treatment"}};
  EXPECT_EQ(Sample(families, "outcomes_ab_customers", control), 1000);
  EXPECT_EQ(Sample(families, "outcomes_ab_conversion_ratio", control), 0.1);
  EXPECT_EQ(Sample(families, "outcomes_ab_conversion_ratio", treatment), 0.15);
  EXPECT_EQ(Sample(families, "outcomes_ab_revenue_per_customer", control), 2.5005);
  EXPECT_EQ(Sample(families, "outcomes_ab_satisfaction_mean", control), 4);
  EXPECT_EQ(Sample(families, "outcomes_ab_return_ratio", treatment), 2.0 / 150);
  EXPECT_DOUBLE_EQ(*Sample(families, "outcomes_ab_lift_ratio", {{"ab_test", "homepage"}}), 0.5);
  EXPECT_EQ(Sample(families, "outcomes_ab_traffic_share_ratio", {{"ab_test", "homepage"}}), 0.5);
  EXPECT_EQ(Sample(families, "outcomes_ab_confidence_level"), 0.95);
  EXPECT_TRUE(
      Sample(families, "outcomes_ab_p_value", {{"ab_test", "homepage"}, {"method", "msprt"}})
          .has_value());
}

TEST_F(AbTestsCollectorTest, MatchesTheGoldenExposition) {
  ScriptArms({Arm("control", "1000", "100", "2500.5"), Arm("treatment", "1000", "150", "3000")});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "ab_tests");
}

TEST_F(AbTestsCollectorTest, ReadsTheSplitColumnOnlyWhenTheStoreHasIt) {
  ScriptArms({}, "1");
  ASSERT_TRUE(collector_.Collect().status.ok());
  ScriptArms({}, "0");
  ASSERT_TRUE(collector_.Collect().status.ok());
  const auto arms = store_->statements("ab_tests_arms");
  ASSERT_EQ(arms.size(), 2u);
  EXPECT_NE(arms[0].sql.find("traffic_share_b::float8"), std::string::npos);
  EXPECT_NE(arms[1].sql.find("NULL::float8"), std::string::npos);
  // ended_retention, 7d by default, as an interval parameter.
  EXPECT_EQ(arms[0].params, std::vector<std::string>{"604800 seconds"});
}

TEST_F(AbTestsCollectorTest, NullShareMeansFiftyFiftyAndNullSumsAreZero) {
  Row control = Arm("control", "10", "1", "100", std::nullopt);
  Row treatment = Arm("treatment", "10", "1", "100", std::nullopt);
  control[10] = std::nullopt;  // sum(revenue) of customers without outcomes
  ScriptArms({control, treatment});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_ab_traffic_share_ratio", {{"ab_test", "homepage"}}),
            0.5);
  EXPECT_EQ(Sample(output.families, "outcomes_ab_revenue_per_customer",
                   {{"ab_test", "homepage"}, {"variant", "control"}}),
            0);
}

TEST_F(AbTestsCollectorTest, NoRunningTestExportsOnlyTheConfiguredConfidence) {
  ScriptArms({});
  const CollectOutput output = collector_.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ASSERT_EQ(output.families.size(), 1u);
  EXPECT_EQ(output.families[0].name, "outcomes_ab_confidence_level");
}

TEST_F(AbTestsCollectorTest, AShortRowFailsTheCycle) {
  ScriptArms({{"homepage", "control"}});
  EXPECT_EQ(collector_.Collect().status.message(),
            "outcomes store: ab_tests_arms: unexpected column count");
}

TEST_F(AbTestsCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastResults) {
  ScriptArms({Arm("control", "1000", "100", "0"), Arm("treatment", "1000", "150", "0")});
  ASSERT_TRUE(collector_.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector_.Collect();
  EXPECT_EQ(output.status.message(), "outcomes store: cannot connect to fake: connection refused");
  EXPECT_EQ(Sample(output.families, "outcomes_ab_customers",
                   {{"ab_test", "homepage"}, {"variant", "treatment"}}),
            1000);
}

TEST_F(AbTestsCollectorTest, ACancelledCycleFailsAndKeepsTheLastResults) {
  ScriptArms({Arm("control", "1000", "100", "0"), Arm("treatment", "1000", "150", "0")});
  ASSERT_TRUE(collector_.Collect().status.ok());
  const CollectOutput output = CollectAndCancel(collector_, *store_, "ab_tests_arms");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos)
      << output.status.message();
  EXPECT_EQ(Sample(output.families, "outcomes_ab_customers",
                   {{"ab_test", "homepage"}, {"variant", "control"}}),
            1000);
}

}  // namespace
}  // namespace outcomes::testing_support
