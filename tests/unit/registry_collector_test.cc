// The MLflow registry collector ("registry/<name>") on the fake transport and the fake clock:
// aliases, stages, the champion and creation times; the requests it makes (paths under the
// base URL, encoded names, the POST body); empty, null and malformed answers; the registry
// down, a non-200 status and the round's single deadline across its requests. The real
// client and server: tests/integration/endpoint_collector_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "exporter/collectors/registry_mlflow.h"
#include "tests/support/collector_test_support.h"
#include "tests/support/fake_transport.h"
#include "tests/support/golden.h"

namespace outcomes::testing_support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kBase = "http://mlflow:5000";
const std::string kAliasesUrl =
    std::string(kBase) + "/api/2.0/mlflow/registered-models/get?name=reco-ranker";
const std::string kLatestUrl =
    std::string(kBase) + "/api/2.0/mlflow/registered-models/get-latest-versions";
std::string VersionUrl(const std::string& version) {
  return std::string(kBase) +
         "/api/2.0/mlflow/model-versions/get?name=reco-ranker&version=" + version;
}

constexpr const char* kAliasesBody = R"({"registered_model": {"name": "reco-ranker",
  "aliases": [{"alias": "champion", "version": "7"}, {"alias": "baseline", "version": "6"}]}})";
constexpr const char* kLatestBody = R"({"model_versions": [
  {"name": "reco-ranker", "version": "7", "current_stage": "Production",
   "creation_timestamp": 1789500000123},
  {"name": "reco-ranker", "version": 8, "current_stage": "Staging",
   "creation_timestamp": "1790000000000"}]})";
constexpr const char* kVersion6Body =
    R"({"model_version": {"name": "reco-ranker", "version": "6",
        "creation_timestamp": 1789000000000}})";

const Labels kUp = {{"registry", "mlflow"}};

class RegistryOnFakeTransportTest : public ::testing::Test {
 protected:
  static RegistryConfig Config() {
    RegistryConfig config;
    config.name = "mlflow";
    config.url = std::string(kBase) + "/";
    config.models = {"reco-ranker"};
    return config;
  }

  std::shared_ptr<MlflowRegistryCollector> Make(const RegistryConfig& config) {
    auto collector =
        MlflowRegistryCollector::Create(config, FakeTransport::Deps(log_, transport_, &clock_));
    EXPECT_TRUE(collector.ok()) << collector.error();
    return collector.ok() ? collector.value() : nullptr;
  }

  void ScriptHealthyRegistry() {
    transport_->ReplyJson(kAliasesUrl, kAliasesBody);
    transport_->ReplyJson(kLatestUrl, kLatestBody);
    transport_->ReplyJson(VersionUrl("6"), kVersion6Body);
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::kLogfmt};
  FakeClock clock_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>(&clock_);
};

TEST_F(RegistryOnFakeTransportTest, ExportsStagesAliasesTheChampionAndCreationTimes) {
  ScriptHealthyRegistry();
  const auto collector = Make(Config());
  const CollectOutput output = CollectOnce(*collector);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(collector->name(), "registry/mlflow");
  EXPECT_EQ(Sample(output.families, "model_registry_up", kUp), 1);
  EXPECT_EQ(Sample(output.families, "model_registry_version_info",
                   {{"registry", "mlflow"},
                    {"model_name", "reco-ranker"},
                    {"model_version", "8"},
                    {"stage", "Staging"}}),
            1);
  EXPECT_EQ(Sample(output.families, "model_registry_champion_info",
                   {{"registry", "mlflow"},
                    {"model_name", "reco-ranker"},
                    {"alias", "champion"},
                    {"model_version", "7"}}),
            1);
  const auto created = [&](const std::string& version) {
    return Sample(
        output.families, "model_registry_version_created_timestamp_seconds",
        {{"registry", "mlflow"}, {"model_name", "reco-ranker"}, {"model_version", version}});
  };
  // 7 and 8 come with the stages' answer, in milliseconds as a number or a string; 6, named
  // only by an alias, from model-versions/get.
  EXPECT_EQ(created("7"), 1789500000.123);
  EXPECT_EQ(created("8"), 1790000000);
  EXPECT_EQ(created("6"), 1789000000);
}

TEST_F(RegistryOnFakeTransportTest, AsksTheThreeApisInTurn) {
  ScriptHealthyRegistry();
  RegistryConfig config = Config();
  config.headers = {{"X-Tenant", "reco"}};
  ASSERT_TRUE(CollectOnce(*Make(config)).status.ok());
  const std::vector<RecordedRequest> requests = transport_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].url, kAliasesUrl);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].headers, (HttpHeaders{{"X-Tenant", "reco"}}));
  EXPECT_EQ(requests[1].url, kLatestUrl);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(
      nlohmann::json::parse(requests[1].body),
      nlohmann::json::parse(R"({"name": "reco-ranker", "stages": ["Production", "Staging"]})"));
  EXPECT_EQ(requests[2].url, VersionUrl("6"));
  EXPECT_EQ(requests[2].method, "GET");
}

TEST_F(RegistryOnFakeTransportTest, KeepsTheBasePathAndEncodesNames) {
  RegistryConfig config = Config();
  config.url = std::string(kBase) + "/mlflow/";
  config.models = {"reco ranker/v2"};
  config.stages = {};
  const std::string url =
      std::string(kBase) + "/mlflow/api/2.0/mlflow/registered-models/get?name=reco%20ranker%2Fv2";
  transport_->ReplyJson(url, R"({"registered_model": {"name": "reco ranker/v2"}})");
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(transport_->requests().size(), 1u);
  EXPECT_EQ(transport_->requests(url).size(), 1u);
}

// A registry with neither aliases nor versions in the stages asked for: up, nothing else.
TEST_F(RegistryOnFakeTransportTest, AModelWithoutAliasesOrStagesExportsOnlyUp) {
  transport_->ReplyJson(kAliasesUrl, R"({"registered_model": {"name": "reco-ranker"}})");
  transport_->ReplyJson(kLatestUrl, "{}");
  const CollectOutput output = CollectOnce(*Make(Config()));
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ASSERT_EQ(output.families.size(), 1u);
  EXPECT_EQ(Sample(output.families, "model_registry_up", kUp), 1);
}

TEST_F(RegistryOnFakeTransportTest, TheChampionAliasIsConfigurableAndStagesOptional) {
  transport_->ReplyJson(kAliasesUrl, kAliasesBody);
  transport_->ReplyJson(VersionUrl("6"), kVersion6Body);
  transport_->ReplyJson(VersionUrl("7"), R"({"model_version": {"version": "7"}})");
  RegistryConfig config = Config();
  config.stages = {};
  config.champion_alias = "baseline";
  const CollectOutput output = CollectOnce(*Make(config));
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_TRUE(transport_->requests(kLatestUrl).empty());
  EXPECT_EQ(FindFamily(output.families, "model_registry_version_info"), nullptr);
  const prometheus::MetricFamily* champion =
      FindFamily(output.families, "model_registry_champion_info");
  ASSERT_NE(champion, nullptr);
  ASSERT_EQ(champion->metric.size(), 1u);
  EXPECT_EQ(champion->metric[0].label[2].value, "baseline");
  // Version 7's answer has no creation time: no series for it, and not an error.
  const prometheus::MetricFamily* created =
      FindFamily(output.families, "model_registry_version_created_timestamp_seconds");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->metric.size(), 1u);
}

// Each API's malformed (or null) answer names the API and what is wrong, fails the round and
// keeps what the last successful round exported.
TEST_F(RegistryOnFakeTransportTest, MalformedAnswersFailTheRoundAndKeepTheLastSnapshot) {
  ScriptHealthyRegistry();
  const auto collector = Make(Config());
  ASSERT_TRUE(CollectOnce(*collector).status.ok());
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {kAliasesUrl, "{not json", "registered-models/get: response is not a JSON object"},
      {kAliasesUrl, "null", "registered-models/get: response is not a JSON object"},
      {kAliasesUrl, "{}", "registered-models/get: registered_model is missing"},
      {kLatestUrl, R"({"model_versions": {}})",
       "registered-models/get-latest-versions: model_versions is not a list"},
      {kLatestUrl, R"({"model_versions": [{"name": "reco-ranker"}]})",
       "registered-models/get-latest-versions: a model_versions entry lacks name or version"},
      {VersionUrl("6"), "[]", "model-versions/get: response is not a JSON object"}};
  for (const auto& [url, body, error] : cases) {
    ScriptHealthyRegistry();
    transport_->ReplyJson(url, body);
    const CollectOutput output = CollectOnce(*collector);
    EXPECT_EQ(output.status.message(), "registry mlflow: model reco-ranker: " + error) << body;
    EXPECT_EQ(Sample(output.families, "model_registry_up", kUp), 0);
    EXPECT_EQ(Sample(output.families, "model_registry_alias_info",
                     {{"registry", "mlflow"},
                      {"model_name", "reco-ranker"},
                      {"alias", "champion"},
                      {"model_version", "7"}}),
              1)
        << body;
  }
}

TEST_F(RegistryOnFakeTransportTest, RegistryDownIsNotUp) {
  transport_->Refuse(kAliasesUrl);
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_EQ(output.status.message(),
            "registry mlflow: model reco-ranker: registered-models/get: connect: Connection "
            "refused");
  EXPECT_EQ(Sample(output.families, "model_registry_up", kUp), 0);
  EXPECT_EQ(output.families.size(), 1u);
  // The round stops at the first failure of a model.
  EXPECT_EQ(transport_->requests().size(), 1u);
}

TEST_F(RegistryOnFakeTransportTest, TheErrorLineStartsWithTheCollectorsPrefix) {
  transport_->Refuse(kAliasesUrl);
  const auto collector = Make(Config());
  const CollectOutput output = CollectOnce(*collector);
  EXPECT_EQ(output.status.message(),
            collector->ErrorPrefix() +
                "model reco-ranker: registered-models/get: connect: Connection refused");
}

TEST_F(RegistryOnFakeTransportTest, AStatusOtherThan200FailsTheRound) {
  ScriptHealthyRegistry();
  transport_->ReplyJson(kLatestUrl, R"({"error_code": "RESOURCE_DOES_NOT_EXIST"})", 404);
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_EQ(output.status.message(),
            "registry mlflow: model reco-ranker: registered-models/get-latest-versions: HTTP "
            "status 404");
  EXPECT_TRUE(transport_->requests(VersionUrl("6")).empty());
}

// The models are asked in parallel; each failing one is named, the others still answer.
TEST_F(RegistryOnFakeTransportTest, EveryFailingModelIsNamed) {
  ScriptHealthyRegistry();
  RegistryConfig config = Config();
  config.models = {"reco-ranker", "reco-retriever", "no-such-model"};
  transport_->Refuse(std::string(kBase) +
                     "/api/2.0/mlflow/registered-models/get?name=reco-retriever");
  const CollectOutput output = CollectOnce(*Make(config));
  EXPECT_EQ(output.status.message(),
            "registry mlflow: model reco-retriever: registered-models/get: connect: Connection "
            "refused; model no-such-model: registered-models/get: HTTP status 404");
  EXPECT_EQ(transport_->requests().size(), 5u);
}

// One deadline for a model's requests: after a 3s answer of a 5s round the next request has
// 2s, and a registry that then hangs costs those 2s, not another 5s.
TEST_F(RegistryOnFakeTransportTest, TheRoundsRequestsShareItsTimeout) {
  FakeReply slow_aliases;
  slow_aliases.body = kAliasesBody;
  slow_aliases.duration = 3s;
  transport_->Reply(kAliasesUrl, slow_aliases);
  transport_->Hang(kLatestUrl);
  const auto started = clock_.SteadyNow();
  const CollectOutput output = CollectOnce(*Make(Config()));
  EXPECT_EQ(clock_.SteadyNow() - started, 5s);
  EXPECT_EQ(transport_->requests(kAliasesUrl).at(0).timeout, 5s);
  EXPECT_EQ(transport_->requests(kLatestUrl).at(0).timeout, 2s);
  EXPECT_EQ(output.status.message(),
            "registry mlflow: model reco-ranker: registered-models/get-latest-versions: timed out "
            "after 2s");
}

// The models answer in parallel, in any order; their series follow the configuration's order.
TEST_F(RegistryOnFakeTransportTest, SeriesFollowTheConfiguredModelsWhateverAnswersFirst) {
  RegistryConfig config = Config();
  config.models = {"reco-ranker", "reco-retriever"};
  config.stages = {"Production"};
  FakeReply ranker;
  ranker.body = R"({"registered_model": {"aliases": [{"alias": "champion", "version": "7"}]}})";
  ranker.duration = 300ms;
  transport_->Reply(kAliasesUrl, ranker);
  transport_->ReplyJson(
      std::string(kBase) + "/api/2.0/mlflow/registered-models/get?name=reco-retriever",
      R"({"registered_model": {"aliases": [{"alias": "champion", "version": "3"}]}})");
  // One answer for both models' stages: what matters is the order they arrive in.
  transport_->ReplyJson(kLatestUrl, R"({"model_versions": []})");
  transport_->ReplyJson(VersionUrl("7"), R"({"model_version": {"version": "7"}})");
  transport_->ReplyJson(
      std::string(kBase) + "/api/2.0/mlflow/model-versions/get?name=reco-retriever&version=3",
      R"({"model_version": {"version": "3"}})");
  const CollectOutput output = CollectOnce(*Make(config));
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  // The retriever answered first.
  EXPECT_NE(transport_->requests().at(2).body.find("reco-retriever"), std::string::npos);
  const prometheus::MetricFamily* champion =
      FindFamily(output.families, "model_registry_champion_info");
  ASSERT_NE(champion, nullptr);
  ASSERT_EQ(champion->metric.size(), 2u);
  EXPECT_EQ(champion->metric[0].label[1].value, "reco-ranker");
  EXPECT_EQ(champion->metric[1].label[1].value, "reco-retriever");
}

TEST_F(RegistryOnFakeTransportTest, MatchesTheGoldenExposition) {
  ScriptHealthyRegistry();
  const CollectOutput output = CollectOnce(*Make(Config()));
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectMatchesGolden(output.families, "registry");
}

}  // namespace
}  // namespace outcomes::testing_support
