// The collector table: BuildCollectors() runs every kind's factory, in table order, on the fake
// store's sessions, and reports every collector it cannot build.
#include "exporter/collectors/registry.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/fake_store_session.h"

namespace outcomes::testing_support {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  std::vector<std::string> Names(const Config& config) {
    Result<std::vector<std::shared_ptr<Collector>>> built = BuildCollectors(config, context_);
    EXPECT_TRUE(built.ok()) << built.error();
    std::vector<std::string> names;
    if (built.ok()) {
      for (const auto& collector : built.value()) names.push_back(collector->name());
    }
    return names;
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kInfo, LogFormat::kLogfmt};
  std::shared_ptr<FakeStore> store_ = FakeStore::Make();
  CollectorContext context_{log_, store_->SessionFactory()};
};

TEST_F(RegistryTest, WithoutAStoreOnlyTheThresholdsCollectorIsBuilt) {
  EXPECT_EQ(Names(Config{}), std::vector<std::string>{"thresholds"});
}

TEST_F(RegistryTest, BuildsEveryConfiguredKindInTableOrder) {
  Config config;
  config.store = StoreConfig{};
  config.analytics = AnalyticsConfig{};
  config.analytics->ab_tests = AbTestsConfig{};
  config.analytics->drift = DriftConfig{};
  config.analytics->cohorts = CohortsConfig{};
  config.analytics->data_quality = DataQualityConfig{};
  QueryConfig query;
  query.name = "orders";
  config.queries.push_back(query);
  EndpointConfig endpoint;
  endpoint.name = "reco-api";
  endpoint.url = "http://127.0.0.1:1/health";
  config.endpoints.push_back(endpoint);
  RegistryConfig registry;
  registry.name = "mlflow";
  registry.url = "http://127.0.0.1:1";
  config.registries.push_back(registry);
  EXPECT_EQ(Names(config),
            (std::vector<std::string>{"store", "ab_tests", "drift", "cohorts", "query/orders",
                                      "endpoint/reco-api", "registry/mlflow", "thresholds",
                                      "data_quality", "store_health"}));
}

TEST_F(RegistryTest, ReportsEveryCollectorThatCannotBeBuilt) {
  Config config;
  for (const char* name : {"a", "b"}) {
    EndpointConfig endpoint;
    endpoint.name = name;
    endpoint.url = "https://127.0.0.1:1/health";
    endpoint.tls.ca_file = "/nonexistent/ca.pem";
    config.endpoints.push_back(endpoint);
  }
  Result<std::vector<std::shared_ptr<Collector>>> built = BuildCollectors(config, context_);
  ASSERT_FALSE(built.ok());
  const std::string errors = built.error();
  EXPECT_NE(errors.find("endpoint a"), std::string::npos) << errors;
  EXPECT_NE(errors.find("\n"), std::string::npos) << errors;  // one line each
  EXPECT_NE(errors.find("endpoint b"), std::string::npos) << errors;
}

}  // namespace
}  // namespace outcomes::testing_support
