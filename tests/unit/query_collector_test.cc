// The custom query collector ("query/<name>") against the fake store: gauge and incremental
// modes, NULL and empty results, max_series, the store down, a cancelled cycle.
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/collectors/query.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

QueryConfig OrdersByRegion() {
  QueryConfig config;
  config.name = "shop_orders";
  config.help = "Open and paid orders by region.";
  config.sql = "SELECT region, open, paid FROM order_summary";
  config.labels = {"region"};
  config.values = {"open", "paid"};
  config.value_label = "state";
  config.static_labels = {{"shop", "eu"}};
  return config;
}

class QueryCollectorTest : public ::testing::Test {
 protected:
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
};

TEST_F(QueryCollectorTest, ExportsOneSeriesPerRowAndValueColumn) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10.5"}, {"south", "0", "7"}});
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(collector.name(), "query/shop_orders");
  EXPECT_EQ(Sample(output.families, "shop_orders",
                   {{"region", "north"}, {"shop", "eu"}, {"state", "paid"}}),
            10.5);
  EXPECT_EQ(Sample(output.families, "shop_orders",
                   {{"region", "south"}, {"shop", "eu"}, {"state", "open"}}),
            0);
  EXPECT_EQ(
      Sample(output.families, "outcomes_exporter_query_series_dropped", {{"query", "shop_orders"}}),
      0);
  EXPECT_EQ(store_->statements("shop_orders").at(0).sql,
            QueryCollector::WrappedSql(OrdersByRegion()));
}

TEST_F(QueryCollectorTest, MatchesTheGoldenExposition) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10.5"}, {"south", "0", "7"}, {"", "1", "1"}});
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "query");
}

TEST_F(QueryCollectorTest, SeriesThatVanishFromTheResultVanishFromTheFamily) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10"}});
  ASSERT_TRUE(collector.Collect().status.ok());
  store_->SetRows("shop_orders", {});
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(FindFamily(output.families, "shop_orders"), nullptr);
  EXPECT_NE(FindFamily(output.families, "outcomes_exporter_query_series_dropped"), nullptr);
}

TEST_F(QueryCollectorTest, ANullValueFailsTheCycleWithItsRowAndKeepsTheLastResult) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10"}});
  ASSERT_TRUE(collector.Collect().status.ok());
  store_->SetRows("shop_orders", {{std::nullopt, "1", std::nullopt}});
  const CollectOutput output = collector.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: query shop_orders: column paid is NULL in row 1 (use coalesce() or "
            "filter the row)");
  EXPECT_EQ(Sample(output.families, "shop_orders",
                   {{"region", "north"}, {"shop", "eu"}, {"state", "open"}}),
            3);
}

TEST_F(QueryCollectorTest, ItsOwnErrorsStartWithTheCollectorsPrefixAfterTheStores) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10"}, {"north", "4", "11"}});
  const CollectOutput output = collector.Collect();
  EXPECT_EQ(output.status.message(),
            "outcomes store: " + collector.ErrorPrefix() +
                "two rows have the same labels; group the result by every label column");
}

TEST_F(QueryCollectorTest, SeriesOverMaxSeriesAreDroppedAndCounted) {
  QueryConfig config = OrdersByRegion();
  config.max_series = 3;
  QueryCollector collector(StoreConfig{}, config, store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "1", "2"}, {"south", "3", "4"}});
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(FindFamily(output.families, "shop_orders")->metric.size(), 3u);
  EXPECT_EQ(
      Sample(output.families, "outcomes_exporter_query_series_dropped", {{"query", "shop_orders"}}),
      1);
  EXPECT_NE(log_text_.str().find("exceeds max_series"), std::string::npos);
}

TEST_F(QueryCollectorTest, IncrementalModeCountsTheTableFromItsFirstFullCount) {
  QueryConfig config;
  config.name = "shop_paid_orders_total";
  config.type = "counter";
  config.sql = "SELECT region, 1 AS orders FROM orders o WHERE {filter}";
  config.labels = {"region"};
  config.values = {"orders"};
  config.incremental = IncrementalQueryConfig{"orders", "o.id"};
  QueryCollector collector(StoreConfig{}, config, store_->Deps(log_));
  store_->SetRows("orders_max_id", {{"42"}});
  store_->SetRows("orders_gaps", {});
  store_->SetRows("orders_full", {{"north", "40"}, {"south", "2"}});
  const CollectOutput output = collector.Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(FindFamily(output.families, "shop_paid_orders_total")->type,
            prometheus::MetricType::Counter);
  EXPECT_EQ(Sample(output.families, "shop_paid_orders_total", {{"region", "north"}}), 40);
  EXPECT_EQ(store_->statements("orders_max_id").at(0).sql,
            "SELECT coalesce(max(id), 0) FROM orders");
}

TEST_F(QueryCollectorTest, StoreDownFailsTheCycleAndKeepsTheLastResult) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10"}});
  ASSERT_TRUE(collector.Collect().status.ok());
  store_->FailConnect("connection refused");
  const CollectOutput output = collector.Collect();
  EXPECT_EQ(output.status.message(), "outcomes store: cannot connect to fake: connection refused");
  EXPECT_EQ(Sample(output.families, "shop_orders",
                   {{"region", "north"}, {"shop", "eu"}, {"state", "paid"}}),
            10);
}

TEST_F(QueryCollectorTest, ACancelledCycleFailsAndKeepsTheLastResult) {
  QueryCollector collector(StoreConfig{}, OrdersByRegion(), store_->Deps(log_));
  store_->SetRows("shop_orders", {{"north", "3", "10"}});
  ASSERT_TRUE(collector.Collect().status.ok());
  const CollectOutput output = CollectAndCancel(collector, *store_, "shop_orders");
  EXPECT_NE(output.status.message().find("canceling statement"), std::string::npos);
  EXPECT_EQ(Sample(output.families, "shop_orders",
                   {{"region", "north"}, {"shop", "eu"}, {"state", "paid"}}),
            10);
}

TEST_F(QueryCollectorTest, TheSessionGetsTheStatementTimeoutCappedByTheCollectorTimeout) {
  QueryConfig config = OrdersByRegion();
  config.timeout = std::chrono::seconds(5);
  QueryCollector collector(StoreConfig{}, config, store_->Deps(log_));
  EXPECT_EQ(store_->last_options().statement_timeout, std::chrono::seconds(5));
}

}  // namespace
}  // namespace outcomes::testing_support
