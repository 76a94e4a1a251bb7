#include "exporter/config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace outcomes {
namespace {

using namespace std::chrono_literals;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return LoadConfigText(yaml, "test.yml", FakeEnv(std::move(env)));
}

TEST(ConfigTest, AppliesDefaults) {
  const auto config = Load("store:\n  dsn: postgresql://u@h/db\n");
  ASSERT_TRUE(config.ok()) << config.error();
  ASSERT_TRUE(config.value().store.has_value());
  const StoreConfig& store = *config.value().store;
  EXPECT_EQ(store.interval, 15s);
  EXPECT_EQ(store.reconcile_interval, 5min);
  EXPECT_EQ(store.late_commit_window, 10min);
  EXPECT_EQ(store.sweep_ranges_per_cycle, 1000);
  EXPECT_EQ(store.statement_timeout, 1min);
  EXPECT_EQ(store.application_name, "outcomes_exporter");
  EXPECT_TRUE(config.value().endpoints.empty());
}

TEST(ConfigTest, EmptyFileIsValidAndCollectsNothing) {
  const auto config = Load("");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_FALSE(config.value().store.has_value());
}

TEST(ConfigTest, ExpandsEnvironmentVariables) {
  const auto config = Load("store:\n  dsn: \"${DSN}?x=$${literal}\"\n", {{"DSN", "host=db"}});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().store->dsn, "host=db?x=${literal}");
}

TEST(ConfigTest, ReportsUnsetVariableWithPosition) {
  const auto config = Load("store:\n  dsn: \"${OUTCOMES_DSN}\"\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:2:8: store.dsn: environment variable OUTCOMES_DSN is not set");
}

TEST(ConfigTest, RejectsUnknownKey) {
  const auto config = Load("store:\n  dsn: x\n  intervall: 5s\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), "test.yml:3:3: store.intervall: unknown key");
}

TEST(ConfigTest, RejectsUnknownTopLevelKey) {
  const auto config = Load("stor:\n  dsn: x\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), "test.yml:1:1: stor: unknown key");
}

TEST(ConfigTest, RejectsBadDuration) {
  const auto config = Load("store:\n  dsn: x\n  interval: 15x\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:3:13: store.interval: invalid duration \"15x\": missing or unknown unit "
            "(use ms, s, m, h, d, w, y)");
}

TEST(ConfigTest, ListsEveryProblem) {
  const auto config = Load(
      "store:\n"
      "  dsn: x\n"
      "  interval: 0s\n"
      "  reconcile_interval: nope\n"
      "endpoints:\n"
      "  - name: a\n"
      "    url: ftp://a\n"
      "  - name: a\n"
      "    url: http://b\n"
      "    colour: red\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:3:13: store.interval: must be greater than 0\n"
            "test.yml:4:23: store.reconcile_interval: invalid duration \"nope\": expected a number "
            "followed by a unit (ms, s, m, h, d, w, y)\n"
            "test.yml:7:10: endpoints[0].url: expected an http:// or https:// URL\n"
            "test.yml:8:11: endpoints[1].name: duplicate name \"a\"\n"
            "test.yml:10:5: endpoints[1].colour: unknown key");
}

TEST(ConfigTest, RequiresExactlyOneDsnSource) {
  const auto none = Load("store:\n  interval: 5s\n");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), "test.yml:2:3: store: set exactly one of dsn and dsn_file");
  EXPECT_FALSE(Load("store:\n  dsn: a\n  dsn_file: /b\n").ok());
}

TEST(ConfigTest, ReadsDsnFromFile) {
  const std::string path = testing::TempDir() + "/dsn_file_test";
  {
    std::ofstream file(path);
    file << "postgresql://reader:s3cret@db/outcomes\n";
  }
  const auto config = Load("store:\n  dsn_file: " + path + "\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().store->dsn, "postgresql://reader:s3cret@db/outcomes");
  const auto missing = Load("store:\n  dsn_file: /nonexistent/dsn\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "test.yml:2:13: store.dsn_file: cannot read \"/nonexistent/dsn\"");
}

TEST(ConfigTest, ReconcileIntervalMustCoverInterval) {
  const auto config = Load("store:\n  dsn: x\n  interval: 1m\n  reconcile_interval: 30s\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:23: store.reconcile_interval: must be at least store.interval (1m)");
}

TEST(ConfigTest, SweepRangesPerCycleIsReadAndMustBePositive) {
  const auto config = Load("store:\n  dsn: x\n  sweep_ranges_per_cycle: 250\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().store->sweep_ranges_per_cycle, 250);
  const auto zero = Load("store:\n  dsn: x\n  sweep_ranges_per_cycle: 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error(), "test.yml:3:27: store.sweep_ranges_per_cycle: must be at least 1");
}

TEST(ConfigTest, RejectsDuplicateKey) {
  const auto config = Load("store:\n  dsn: x\n  dsn: y\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), "test.yml:3:3: store.dsn: duplicate key");
}

TEST(ConfigTest, ReportsInvalidYamlWithPosition) {
  const auto config = Load("store:\n  dsn: [unclosed\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().rfind("test.yml:", 0), 0u) << config.error();
  EXPECT_NE(config.error().find("invalid YAML"), std::string::npos);
}

TEST(ConfigTest, EndpointRequiresNameAndUrl) {
  const auto config = Load("endpoints:\n  - interval: 5s\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:2:5: endpoints[0].name: required\ntest.yml:2:5: endpoints[0].url: required");
}

TEST(ConfigTest, ShippedExampleLoads) {
  const auto config =
      LoadConfigFile(std::string(OUTCOMES_SOURCE_DIR) + "/deploy/config/outcomes_exporter.yml",
                     FakeEnv({{"OUTCOMES_DSN", "postgresql://u@127.0.0.1/db"}}));
  ASSERT_TRUE(config.ok()) << config.error();
  ASSERT_TRUE(config.value().store.has_value());
  EXPECT_EQ(config.value().store->dsn, "postgresql://u@127.0.0.1/db");
  // The example lists the defaults: it must agree with the structs.
  StoreConfig defaults;
  defaults.dsn = config.value().store->dsn;
  EXPECT_EQ(*config.value().store, defaults);
  ASSERT_EQ(config.value().endpoints.size(), 1u);
  EXPECT_EQ(config.value().endpoints[0].name, "reco-api");
  ASSERT_TRUE(config.value().analytics.has_value());
  EXPECT_EQ(config.value().analytics->ab_tests, AbTestsConfig{});
  EXPECT_EQ(config.value().analytics->drift, DriftConfig{});
  EXPECT_EQ(config.value().analytics->cohorts, CohortsConfig{});
}

TEST(ConfigTest, ReadsEveryEndpointOption) {
  const auto config = Load(
      "endpoints:\n"
      "  - name: reco-api\n"
      "    url: https://model:8443/health\n"
      "    method: POST\n"
      "    headers: {X-Api-Key: \"${KEY}\"}\n"
      "    valid_status_codes: [200, 204]\n"
      "    max_body_bytes: 4096\n"
      "    buckets: [0.1, 1, 5]\n"
      "    tls: {ca_file: /ca.pem, server_name: model.internal}\n"
      "    model_info: {model_name: /model/name, model_version: /model/version, stage: /stage}\n"
      "    fields:\n"
      "      - metric: model_accuracy_ratio\n"
      "        pointer: /metrics/accuracy\n",
      {{"KEY", "k1"}});
  ASSERT_TRUE(config.ok()) << config.error();
  const EndpointConfig& endpoint = config.value().endpoints.at(0);
  EXPECT_EQ(endpoint.method, "POST");
  EXPECT_EQ(endpoint.headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Api-Key", "k1"}}));
  EXPECT_EQ(endpoint.valid_status_codes, (std::vector<int>{200, 204}));
  EXPECT_EQ(endpoint.max_body_bytes, 4096);
  EXPECT_EQ(endpoint.buckets, (std::vector<double>{0.1, 1, 5}));
  EXPECT_EQ(endpoint.tls.ca_file, "/ca.pem");
  EXPECT_EQ(endpoint.tls.server_name, "model.internal");
  EXPECT_EQ(endpoint.model_version_pointer, "/model/version");
  ASSERT_EQ(endpoint.fields.size(), 1u);
  EXPECT_EQ(endpoint.fields[0].metric, "model_accuracy_ratio");
}

TEST(ConfigTest, EndpointDefaultBucketsIncludeOneSecond) {
  const EndpointConfig endpoint;
  EXPECT_NE(std::find(endpoint.buckets.begin(), endpoint.buckets.end(), 1.0),
            endpoint.buckets.end());
}

TEST(ConfigTest, RejectsBadEndpointOptions) {
  const auto config = Load(
      "endpoints:\n"
      "  - name: a\n"
      "    url: http://a\n"
      "    method: DELETE\n"
      "    buckets: [1, 0.5]\n"
      "    model_info: {model_version: model.version}\n"
      "    fields:\n"
      "      - metric: outcomes_store_up\n"
      "        pointer: /x\n"
      "      - metric: 9lives\n"
      "        pointer: /y\n"
      "    tls: {cert_file: /c.pem}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:13: endpoints[0].method: want GET, HEAD or POST\n"
            "test.yml:5:14: endpoints[0].buckets: must be a non-empty, strictly ascending list\n"
            "test.yml:6:33: endpoints[0].model_info.model_version: a JSON Pointer starts with / "
            "(e.g. /model/version)\n"
            "test.yml:8:17: endpoints[0].fields[0].metric: \"outcomes_store_up\" collides with a "
            "built-in metric\n"
            "test.yml:10:17: endpoints[0].fields[1].metric: \"9lives\" is not a valid metric name "
            "([a-zA-Z_][a-zA-Z0-9_]*)\n"
            "test.yml:12:10: endpoints[0].tls.cert_file: cert_file and key_file go together");
}

TEST(ConfigTest, ReadsRegistriesWithTheirDefaults) {
  const auto config = Load(
      "registries:\n"
      "  - name: mlflow\n"
      "    url: http://mlflow:5000\n"
      "    models: [reco-ranker]\n");
  ASSERT_TRUE(config.ok()) << config.error();
  const RegistryConfig& registry = config.value().registries.at(0);
  EXPECT_EQ(registry.interval, 1min);
  EXPECT_EQ(registry.timeout, 5s);
  EXPECT_EQ(registry.stages, (std::vector<std::string>{"Production", "Staging"}));
  EXPECT_EQ(registry.champion_alias, "champion");
  const auto empty = Load("registries:\n  - name: m\n    url: http://m\n    models: []\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(),
            "test.yml:4:13: registries[0].models: list at least one registered model");
}

TEST(ConfigTest, AnalyticsNeedsAStoreAndValidSettings) {
  const auto no_store = Load("analytics:\n  drift: {}\n");
  ASSERT_FALSE(no_store.ok());
  EXPECT_EQ(no_store.error(), "test.yml:2:3: analytics: needs a store section to read from");
  const auto bad = Load(
      "store:\n  dsn: x\n"
      "analytics:\n"
      "  ab_tests: {confidence: 1.5, minimum_detectable_effect: 0}\n"
      "  drift: {bins: 1}\n"
      "  cohorts: {lag: 3x}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      bad.error(),
      "test.yml:4:26: analytics.ab_tests.confidence: must be between 0 and 1 (exclusive)\n"
      "test.yml:4:58: analytics.ab_tests.minimum_detectable_effect: must be greater than 0\n"
      "test.yml:5:17: analytics.drift.bins: must be between 2 and 100\n"
      "test.yml:6:18: analytics.cohorts.lag: invalid duration \"3x\": missing or unknown unit "
      "(use ms, s, m, h, d, w, y)");
}

// analytics.ab_tests.max_tracked_customers: read as given, 0 allowed (no customer held), a
// negative count refused at its place.
TEST(ConfigTest, AbTestsCustomerCapIsReadAndMustNotBeNegative) {
  const auto held = Load("store:\n  dsn: x\nanalytics:\n  ab_tests: {max_tracked_customers: 0}\n");
  ASSERT_TRUE(held.ok()) << held.error();
  EXPECT_EQ(held.value().analytics->ab_tests->max_tracked_customers, 0);
  const auto negative =
      Load("store:\n  dsn: x\nanalytics:\n  ab_tests:\n    max_tracked_customers: -5\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error(),
            "test.yml:5:28: analytics.ab_tests.max_tracked_customers: must be at least 0");
}

TEST(ConfigTest, ReadsACustomQuery) {
  const auto config = Load(
      "store:\n  dsn: x\n"
      "queries:\n"
      "  - name: shop_orders_total\n"
      "    type: counter\n"
      "    sql: SELECT region, 1 AS n FROM orders o WHERE {filter}\n"
      "    labels: [region]\n"
      "    values: [n]\n"
      "    static_labels: {team: shop}\n"
      "    incremental: {table: orders, id_column: o.id}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  const QueryConfig& query = config.value().queries.at(0);
  EXPECT_EQ(query.type, "counter");
  EXPECT_EQ(query.max_series, 10000);
  ASSERT_TRUE(query.incremental.has_value());
  EXPECT_EQ(query.incremental->id_column, "o.id");
}

TEST(ConfigTest, ValidatesCustomQueryNamesAndModes) {
  const auto config = Load(
      "store:\n  dsn: x\n"
      "queries:\n"
      "  - name: outcomes_events_total\n"
      "    sql: SELECT 1 AS v\n"
      "    values: [v]\n"
      "  - name: ok_metric\n"
      "    sql: SELECT 1 AS v WHERE {filter}\n"
      "    labels: [le, region, region]\n"
      "    values: [v]\n"
      "  - name: inc\n"
      "    sql: SELECT 1 AS v FROM t\n"
      "    values: []\n"
      "    incremental: {table: t}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(
      config.error(),
      "test.yml:4:11: queries[0].name: \"outcomes_events_total\" collides with a built-in metric\n"
      "test.yml:8:10: queries[1].sql: {filter} is only for incremental queries\n"
      "test.yml:9:13: queries[1].labels: \"le\" is not a valid label name\n"
      "test.yml:9:13: queries[1].labels: label \"region\" is given twice\n"
      "test.yml:11:5: queries[2].type: an incremental query exports a counter or a histogram\n"
      "test.yml:12:10: queries[2].sql: an incremental query says where the id condition goes "
      "with {filter} (e.g. WHERE {filter})\n"
      "test.yml:13:13: queries[2].values: list at least one column");
}

TEST(ConfigTest, ReadsAHistogramQueryAndChecksItsBuckets) {
  const auto config = Load(
      "store:\n  dsn: x\n"
      "queries:\n"
      "  - name: checkout_seconds\n"
      "    type: histogram\n"
      "    sql: SELECT region, seconds FROM checkouts c WHERE {filter}\n"
      "    labels: [region]\n"
      "    values: [seconds]\n"
      "    buckets: [0.1, 0.5, 1]\n"
      "    incremental: {table: checkouts, id_column: c.id}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().queries.at(0).buckets, (std::vector<double>{0.1, 0.5, 1}));
  const auto bad = Load(
      "store:\n  dsn: x\n"
      "queries:\n"
      "  - name: unsorted\n"
      "    type: histogram\n"
      "    sql: SELECT 1 AS a, 2 AS b\n"
      "    values: [a, b]\n"
      "    buckets: [1, 0.5]\n"
      "  - name: gauge_with_buckets\n"
      "    sql: SELECT 1 AS value\n"
      "    values: [value]\n"
      "    buckets: [1]\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(),
            "test.yml:7:13: queries[0].values: a histogram counts exactly one value column\n"
            "test.yml:8:14: queries[0].buckets: a histogram needs a non-empty, strictly ascending "
            "list\n"
            "test.yml:12:14: queries[1].buckets: only for type histogram");
}

TEST(ConfigTest, ReadsTheChampionAliasOfARegistryThatUsesNoStages) {
  const auto config = Load(
      "registries:\n"
      "  - name: mlflow\n"
      "    url: http://mlflow:5000\n"
      "    models: [reco-ranker]\n"
      "    stages: []\n"
      "    champion_alias: prod\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_TRUE(config.value().registries.at(0).stages.empty());
  EXPECT_EQ(config.value().registries.at(0).champion_alias, "prod");
  const auto empty = Load(
      "registries:\n  - name: m\n    url: http://m\n    models: [a]\n    champion_alias: \"\"\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), "test.yml:5:21: registries[0].champion_alias: must not be empty");
}

TEST(ConfigTest, ReadsTheValueMapOfAFieldAndRejectsNonNumbers) {
  const auto config = Load(
      "endpoints:\n"
      "  - name: a\n"
      "    url: http://a/health\n"
      "    fields:\n"
      "      - metric: model_healthy\n"
      "        pointer: /status\n"
      "        values: {healthy: 1, degraded: 0.5, true: 1}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().endpoints.at(0).fields.at(0).values,
            (std::map<std::string, double>{{"degraded", 0.5}, {"healthy", 1}, {"true", 1}}));
  const auto bad = Load(
      "endpoints:\n"
      "  - name: a\n"
      "    url: http://a/health\n"
      "    fields:\n"
      "      - metric: model_healthy\n"
      "        pointer: /status\n"
      "        values: {healthy: yes}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(),
            "test.yml:7:27: endpoints[0].fields[0].values.healthy: expected a finite number");
}

TEST(ConfigTest, ReadsAProbeBodyFromItsFileAndItsExpectations) {
  const std::string body_file = testing::TempDir() + "/probe-body.json";
  std::ofstream(body_file) << "{\"user_id\": \"u-42\"}\n";
  const auto config = Load(
      "endpoints:\n"
      "  - name: a\n"
      "    url: http://a/predict\n"
      "    method: POST\n"
      "    body_file: " +
      body_file +
      "\n"
      "    expect:\n"
      "      - pointer: /predictions/0\n"
      "      - {pointer: /status, equals: ok}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  const EndpointConfig& endpoint = config.value().endpoints.at(0);
  EXPECT_EQ(endpoint.body, "{\"user_id\": \"u-42\"}\n");
  ASSERT_EQ(endpoint.expect.size(), 2u);
  EXPECT_FALSE(endpoint.expect[0].equals.has_value());
  EXPECT_EQ(endpoint.expect[1].equals, "ok");
  const auto bad = Load(
      "endpoints:\n"
      "  - name: a\n"
      "    url: http://a/predict\n"
      "    body: \"{}\"\n"
      "    expect:\n"
      "      - {pointer: status, equals: [1]}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(),
            "test.yml:2:5: endpoints[0].method: a request body needs method POST\n"
            "test.yml:6:19: endpoints[0].expect[0].pointer: a JSON Pointer starts with / (e.g. "
            "/model/version)\n"
            "test.yml:6:35: endpoints[0].expect[0].equals: expected a single value");
}

// A port that does not fit any integer: std::stoul threw, which ended the daemon on a reload.
TEST(ConfigTest, RejectsAPortOutOfRangeWithItsPlace) {
  const auto config = Load(
      "endpoints:\n"
      "  - name: a\n"
      "    url: http://127.0.0.1:99999999999999999999/health\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:3:10: endpoints[0].url: URL port \"99999999999999999999\" is not a number "
            "from 1 to 65535");
}

// yaml-cpp reads the rest of the file into the quoted value and calls it valid.
TEST(ConfigTest, RejectsAnUnterminatedQuoteAtWhereItOpens) {
  const auto config = Load("store:\n  dsn: \"x\n  interval: 5s\nendpoints: []\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:2:8: store.dsn: the quoted value that opens here does not close on this "
            "line (for text over several lines, use a block scalar: |)");
}

TEST(ConfigTest, FindsAnUnterminatedQuoteAfterAByteOrderMark) {
  const auto config = Load("\xEF\xBB\xBFstore:\n  dsn: \"x\n  interval: 5s\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().rfind("test.yml:2:8: store.dsn: the quoted value that opens here", 0),
            0u)
      << config.error();
}

TEST(ConfigTest, RejectsAQuoteLeftOpenAtTheEndOfTheFile) {
  const auto config = Load("store:\n  interval: 5s\n  dsn: 'x");
  ASSERT_FALSE(config.ok());
  // yaml-cpp refuses this one itself, but points at the end of the file.
  EXPECT_EQ(config.error(),
            "test.yml:3:8: invalid YAML: the quote that opens here is never closed");
}

TEST(ConfigTest, QuotesInsideAQuotedValueDoNotOpenOne) {
  const auto config =
      Load("store:\n  dsn: \"host=\\\"db\\\"\"\n  application_name: 'it''s'\n  interval: 5s\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value().store->dsn, "host=\"db\"");
  EXPECT_EQ(config.value().store->application_name, "it's");
}

// Junk at the start read as an empty document: the exporter ran with no collectors.
TEST(ConfigTest, RejectsJunkInsteadOfATopLevelMapping) {
  for (const std::string junk : {",", "!", "&a", "~"}) {
    const auto config = Load(junk + "\n");
    ASSERT_FALSE(config.ok()) << junk;
    EXPECT_EQ(config.error(),
              "test.yml:1:1: the top level must be a mapping of sections (store:, endpoints:, "
              "registries:, queries:, analytics:), not \"" +
                  junk + "\"");
  }
}

TEST(ConfigTest, RejectsATopLevelListOrSingleValue) {
  EXPECT_EQ(Load("- store\n").error(),
            "test.yml:1:1: the top level must be a mapping of sections (store:, endpoints:, "
            "registries:, queries:, analytics:), not a list");
  EXPECT_EQ(Load("store\n").error(),
            "test.yml:1:1: the top level must be a mapping of sections (store:, endpoints:, "
            "registries:, queries:, analytics:), not a single value");
}

TEST(ConfigTest, ADocumentMarkerAndCommentsAloneAreAnEmptyConfig) {
  const auto config = Load("# nothing to collect yet\n---\n");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config.value(), Config{});
}

// YAML::Load reads the first document only: the second one was silently ignored.
TEST(ConfigTest, RejectsASecondDocument) {
  const auto config = Load("endpoints: []\n---\nstore: {dsn: x}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:2:1: a second YAML document starts here; a config file holds exactly one");
}

// +Inf is always the last bucket: a second one is a duplicate le="+Inf" series.
TEST(ConfigTest, RejectsAnInfiniteBucket) {
  const auto config = Load("endpoints:\n  - name: a\n    url: http://a\n    buckets: [1, .inf]\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:18: endpoints[0].buckets: expected a finite number (the +Inf bucket is "
            "always there)");
}

TEST(ConfigTest, RejectsANanBucket) {
  const auto config = Load("endpoints:\n  - name: a\n    url: http://a\n    buckets: [.nan]\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:15: endpoints[0].buckets: expected a finite number (the +Inf bucket is "
            "always there)");
}

TEST(ConfigTest, RejectsANonFiniteNumber) {
  const auto config = Load("store: {dsn: x}\nanalytics:\n  cost_per_recommendation: .inf\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:3:28: analytics.cost_per_recommendation: expected a finite number");
}

// PostgreSQL refuses a SET statement_timeout past INT_MAX ms: the store never connected.
TEST(ConfigTest, RejectsAStatementTimeoutPostgresqlRefuses) {
  EXPECT_TRUE(Load("store:\n  dsn: x\n  statement_timeout: 2147483647ms\n").ok());
  const auto config = Load("store:\n  dsn: x\n  statement_timeout: 25d\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:3:22: store.statement_timeout: must be at most 24d20h31m23s647ms "
            "(PostgreSQL's limit, 2147483647ms)");
}

// A steady_clock timer counts nanoseconds: 1000y overflowed it, and the cycle ran in a loop.
TEST(ConfigTest, RejectsADurationTooLongForTimers) {
  const auto config = Load("endpoints:\n  - name: a\n    url: http://a\n    interval: 1000y\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:4:15: endpoints[0].interval: must be at most 3650d (timers and libpq "
            "cannot count further)");
}

// The throwing std::filesystem::is_directory ended a reload on a name longer than NAME_MAX.
TEST(ConfigTest, AnUnreachablePathIsAnErrorNotAnException) {
  const std::string path = "/" + std::string(300, 'a') + ".yml";
  const auto config = LoadConfigFile(path, FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), path + ": cannot open config file");
}

TEST(ConfigTest, MissingFileIsOneClearLine) {
  const auto config = LoadConfigFile("/nonexistent/outcomes.yml", FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), "/nonexistent/outcomes.yml: cannot open config file");
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

TEST(ConfigSecretsTest, ErrorsDoNotRepeatAValueThatMayHoldAPassword) {
  const auto config = LoadConfigText("store:\n  dsn: \"postgresql://u:hunter2@db/x?${BROKEN\"\n",
                                     "test.yml", [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().find("hunter2"), std::string::npos) << config.error();
  EXPECT_EQ(config.error(), "test.yml:2:8: store.dsn: unterminated ${ (write $$ for a literal $)");
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

// Names are checked by prometheus-cpp's CheckMetricName, which keeps __ for Prometheus; the
// exporter's own policy still refuses colons (recording rules' names).
TEST(ConfigMetricNamesTest, RefusesTheReservedPrefixAndColons) {
  const auto config = LoadConfigText(
      "store: {dsn: x}\n"
      "queries:\n"
      "  - {name: __up, sql: select 1, values: [v]}\n"
      "  - {name: \"job:up\", sql: select 1, values: [v]}\n",
      "test.yml", [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(),
            "test.yml:3:12: queries[0].name: \"__up\" is not a valid metric name (names starting "
            "with __ are Prometheus's)\n"
            "test.yml:4:12: queries[1].name: \"job:up\" is not a valid metric name "
            "([a-zA-Z_][a-zA-Z0-9_]*)");
}

}  // namespace
}  // namespace outcomes
