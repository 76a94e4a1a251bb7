#include "exporter/config/schema_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace outcomes {
namespace {

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

Result<Config> Load(const std::string& schema_yaml) {
  return LoadConfigText("store:\n  dsn: x\n  schema:\n" + schema_yaml, "test.yml", NoEnv());
}

TEST(SchemaConfigTest, WithoutSchemaReadsTheReferenceNames) {
  const auto config = LoadConfigText("store:\n  dsn: x\n", "test.yml", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error();
  const StoreSchema& schema = config.value().store->schema;
  EXPECT_EQ(schema, StoreSchema{});
  EXPECT_EQ(schema.tables.at("outcome_events").name, "outcome_events");
  EXPECT_EQ(schema.tables.at("outcome_events").schema, "");
  EXPECT_EQ(schema.tables.at("outcome_events").columns.at("status"), "status");
  EXPECT_EQ(schema.status_values.at("PURCHASED"), "PURCHASED");
  EXPECT_EQ(schema.positive_min, 4);
  EXPECT_EQ(schema.negative_max, 2);
}

TEST(SchemaConfigTest, ReadsTablesColumnsValuesAndCutOffs) {
  const auto config = Load(
      "    tables:\n"
      "      recommendations:\n"
      "        name: shop.recs\n"
      "        columns: {id: rec_id, model_version: '\"Model\"'}\n"
      "      feedback:\n"
      "        name: '\"Shop\".\"a\"\"b\"'\n"
      "    status_values: {PURCHASED: bought, RETURNED: sent_back}\n"
      "    reason_values: {SATISFIED: ok}\n"
      "    feedback_type_values: {SATISFACTION: csat}\n"
      "    ab_test_status_values: {RUNNING: live}\n"
      "    sentiment: {positive_min: 8, negative_max: 5}\n");
  ASSERT_TRUE(config.ok()) << config.error();
  const StoreSchema& schema = config.value().store->schema;
  const SchemaTable& recs = schema.tables.at("recommendations");
  EXPECT_EQ(recs.schema, "shop");
  EXPECT_EQ(recs.name, "recs");
  EXPECT_EQ(recs.columns.at("id"), "rec_id");
  EXPECT_EQ(recs.columns.at("model_version"), "Model");
  EXPECT_EQ(recs.columns.at("score"), "score");  // not named: the reference name
  EXPECT_EQ(schema.tables.at("feedback").schema, "Shop");
  EXPECT_EQ(schema.tables.at("feedback").name, "a\"b");
  EXPECT_EQ(schema.status_values.at("PURCHASED"), "bought");
  EXPECT_EQ(schema.status_values.at("ACCEPTED"), "ACCEPTED");
  EXPECT_EQ(schema.reason_values.at("SATISFIED"), "ok");
  EXPECT_EQ(schema.feedback_type_values.at("SATISFACTION"), "csat");
  EXPECT_EQ(schema.ab_test_status_values.at("RUNNING"), "live");
  EXPECT_EQ(schema.positive_min, 8);
  EXPECT_EQ(schema.negative_max, 5);
}

// Each bad schema with the exact line the user reads.
struct BadSchema {
  const char* yaml;
  const char* error;
};

class SchemaConfigErrorTest : public ::testing::TestWithParam<BadSchema> {};

TEST_P(SchemaConfigErrorTest, ReportsTheProblemAtItsPlace) {
  const auto config = Load(GetParam().yaml);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, SchemaConfigErrorTest,
    ::testing::Values(
        BadSchema{"    tables:\n      recs: {name: x}\n",
                  "test.yml:5:7: store.schema.tables.recs: unknown table (the reference tables "
                  "are ab_tests, feedback, outcome_events, recommendations)"},
        BadSchema{"    tables:\n      feedback:\n        columns: {stars: rating}\n",
                  "test.yml:6:19: store.schema.tables.feedback.columns.stars: unknown column of "
                  "feedback (its columns are id, recommendation_id, feedback_type, score, "
                  "comment, created_at)"},
        BadSchema{"    tables:\n      feedback:\n        name: ''\n",
                  "test.yml:6:15: store.schema.tables.feedback.name: must not be empty"},
        BadSchema{"    tables:\n      feedback:\n        name: Shop.Feedback\n",
                  "test.yml:6:15: store.schema.tables.feedback.name: invalid name "
                  "Shop.Feedback: \"Shop\" is not a plain lower-case name; write a name with "
                  "capitals, spaces, dots or other characters in double quotes, as in SQL (for "
                  "example '\"Shop\"')"},
        BadSchema{"    tables:\n      feedback:\n        name: a.b.c\n",
                  "test.yml:6:15: store.schema.tables.feedback.name: invalid name a.b.c: "
                  "expected table or schema.table"},
        BadSchema{"    tables:\n      feedback:\n        columns: {score: '\"stars'}\n",
                  "test.yml:6:26: store.schema.tables.feedback.columns.score: invalid name "
                  "\"stars: a double quote is not closed"},
        BadSchema{"    tables:\n      feedback:\n        columns: {score: s.stars}\n",
                  "test.yml:6:26: store.schema.tables.feedback.columns.score: invalid name "
                  "s.stars: a column name has no dots (write it in double quotes if its name "
                  "holds one)"},
        BadSchema{"    tables:\n      feedback:\n        columns: {score: id}\n",
                  "test.yml:6:26: store.schema.tables.feedback.columns.score: \"id\" is also the "
                  "column of id"},
        BadSchema{"    status_values: {PURCHASED: done, RETURNED: done}\n",
                  "test.yml:4:48: store.schema.status_values.RETURNED: \"done\" is also the "
                  "value of PURCHASED"},
        BadSchema{"    status_values: {PURCHASED: ACCEPTED}\n",
                  "test.yml:4:32: store.schema.status_values.PURCHASED: \"ACCEPTED\" is also "
                  "the value of ACCEPTED"},
        BadSchema{"    reason_values: {TOO_EXPENSIVE: price}\n",
                  "test.yml:4:21: store.schema.reason_values.TOO_EXPENSIVE: unknown reason (the "
                  "reference values are PRICE_TOO_HIGH, NOT_INTERESTED, QUALITY_CONCERN, "
                  "COMPETITOR_CHOICE, ALREADY_OWNS, QUALITY_ISSUE, NOT_AS_DESCRIBED, "
                  "BETTER_ALTERNATIVE, SATISFIED, EXCELLENT)"},
        BadSchema{"    sentiment: {positive_min: 3, negative_max: 3}\n",
                  "test.yml:4:16: store.schema.sentiment: negative_max (3) must be below "
                  "positive_min (3)"},
        BadSchema{"    sentiment: {positive_min: high}\n",
                  "test.yml:4:31: store.schema.sentiment.positive_min: expected an integer "
                  "score"},
        BadSchema{"    status_values: {PURCHASED: '{filter}'}\n",
                  "test.yml:4:32: store.schema.status_values.PURCHASED: must not hold { or }"},
        BadSchema{"    table: {}\n", "test.yml:4:5: store.schema.table: unknown key"}));

// The full example of docs/CONFIGURATION.md is a valid configuration and maps what it says.
TEST(SchemaConfigTest, TheDocumentedExampleIsValid) {
  std::ifstream file(std::string(OUTCOMES_SOURCE_DIR) + "/docs/CONFIGURATION.md");
  std::stringstream text;
  text << file.rdbuf();
  const std::string docs = text.str();
  const std::size_t section = docs.find("#### `store.schema`");
  ASSERT_NE(section, std::string::npos);
  const std::size_t start = docs.find("```yaml\n", section) + 8;
  const std::string yaml = docs.substr(start, docs.find("```", start) - start);
  const auto config = LoadConfigText(
      yaml, "CONFIGURATION.md", [](const std::string&) { return std::optional<std::string>("x"); });
  ASSERT_TRUE(config.ok()) << config.error();
  const StoreSchema& schema = config.value().store->schema;
  EXPECT_EQ(schema.tables.at("recommendations").schema, "shop");
  EXPECT_EQ(schema.tables.at("recommendations").columns.at("model_version"), "ModelVersion");
  EXPECT_EQ(schema.status_values.at("PURCHASED"), "bought");
  EXPECT_EQ(schema.ab_test_status_values.at("RUNNING"), "live");
}

TEST(SqlNameTest, ParsesPlainAndQuotedParts) {
  std::string error;
  EXPECT_EQ(ParseSqlName("shop.recs", error), (std::vector<std::string>{"shop", "recs"}));
  EXPECT_EQ(ParseSqlName("\"My Shop\".\"a\"\"b\"", error),
            (std::vector<std::string>{"My Shop", "a\"b"}));
  EXPECT_EQ(ParseSqlName("\"x.y\"", error), (std::vector<std::string>{"x.y"}));
  EXPECT_FALSE(ParseSqlName("shop.", error));
  EXPECT_FALSE(ParseSqlName("\"\"", error));
  EXPECT_FALSE(ParseSqlName(std::string(64, 'a'), error));
  EXPECT_TRUE(ParseSqlName(std::string(63, 'a'), error));
}

}  // namespace
}  // namespace outcomes
