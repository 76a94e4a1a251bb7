#include "exporter/store/schema_sql.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "exporter/collectors/store.h"

namespace outcomes {
namespace {

// A store whose every name is hostile: quotes, a backslash, a dot, capitals.
StoreSchema HostileSchema() {
  StoreSchema schema;
  SchemaTable& recs = schema.tables.at("recommendations");
  recs.schema = "My \"Shop\"";
  recs.name = "a\"b";
  recs.columns.at("model_version") = "Model.Version";
  schema.status_values.at("PURCHASED") = "it's bought";
  schema.reason_values.at("SATISFIED") = "ok\\";
  return schema;
}

TEST(SchemaSqlTest, QuotesIdentifiersByDoublingTheQuote) {
  EXPECT_EQ(QuoteIdentifier("recs"), "\"recs\"");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteIdentifier("\"; DROP TABLE x; --"), "\"\"\"; DROP TABLE x; --\"");
}

TEST(SchemaSqlTest, QuotesLiteralsForEitherStringSetting) {
  EXPECT_EQ(QuoteLiteral("bought"), "'bought'");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  // With a backslash, E'' reads the same whatever standard_conforming_strings says.
  EXPECT_EQ(QuoteLiteral("a\\'b"), "E'a\\\\''b'");
}

TEST(SchemaSqlTest, NamesTablesWithTheirSchema) {
  const SchemaSql sql(HostileSchema());
  EXPECT_EQ(sql.Table("recommendations"), "\"My \"\"Shop\"\"\".\"a\"\"b\"");
  EXPECT_EQ(sql.Table("feedback"), "\"feedback\"");
  EXPECT_EQ(sql.Column("recommendations", "model_version"), "\"Model.Version\"");
}

TEST(SchemaSqlTest, RendersPlaceholdersAndLeavesOthers) {
  const SchemaSql sql(HostileSchema());
  EXPECT_EQ(sql.Render("SELECT r.{recommendations.model_version} FROM {recommendations} r "
                       "WHERE {filter} AND x = {status:PURCHASED} AND y = '{1,2}'"),
            "SELECT r.\"Model.Version\" FROM \"My \"\"Shop\"\"\".\"a\"\"b\" r "
            "WHERE {filter} AND x = 'it''s bought' AND y = '{1,2}'");
}

TEST(SchemaSqlTest, RefusesAPlaceholderThatNamesNothing) {
  const SchemaSql sql;
  EXPECT_THROW(sql.Render("{recommendations.modelversion}"), std::invalid_argument);
  EXPECT_THROW(sql.Render("{status:BOUGHT}"), std::invalid_argument);
  EXPECT_THROW(sql.Render("{recs.id}"), std::invalid_argument);
}

TEST(SchemaSqlTest, LabelsAreTheColumnItselfForTheReferenceValues) {
  const SchemaSql sql;
  EXPECT_EQ(sql.StatusLabel("e.\"status\""), "e.\"status\"");
}

TEST(SchemaSqlTest, LabelsTurnTheStoresValuesBackIntoTheReferenceOnes) {
  const SchemaSql sql(HostileSchema());
  EXPECT_EQ(sql.StatusLabel("e.s"), "CASE e.s WHEN 'it''s bought' THEN 'PURCHASED' ELSE e.s END");
  EXPECT_EQ(sql.ReasonLabel("e.r"), "CASE e.r WHEN E'ok\\\\' THEN 'SATISFIED' ELSE e.r END");
}

TEST(SchemaSqlTest, SentimentFollowsTheCutOffs) {
  StoreSchema schema;
  schema.positive_min = 8;
  schema.negative_max = 5;
  EXPECT_EQ(SchemaSql(schema).Sentiment("f.s"),
            "CASE WHEN f.s >= 8 THEN 'positive' WHEN f.s <= 5 THEN 'negative' ELSE 'neutral' END");
}

TEST(SchemaSqlTest, StoreStatementsCarryOnlyQuotedNames) {
  const std::vector<TableSpec> tables = StoreTables(SchemaSql(HostileSchema()));
  ASSERT_EQ(tables.size(), 3U);
  EXPECT_EQ(tables[0].table, "recommendations");  // statement names and labels keep it
  EXPECT_EQ(tables[0].relation, "\"My \"\"Shop\"\"\".\"a\"\"b\"");
  for (const TableSpec& spec : tables) {
    EXPECT_EQ(spec.aggregate_sql.find("{recommendations"), std::string::npos) << spec.table;
    EXPECT_NE(spec.aggregate_sql.find(tables[0].relation + " r"), std::string::npos)
        << spec.aggregate_sql;
    EXPECT_NE(spec.aggregate_sql.find("{filter}"), std::string::npos) << spec.table;
  }
  EXPECT_NE(tables[1].aggregate_sql.find("WHEN 'it''s bought' THEN 'PURCHASED'"), std::string::npos)
      << tables[1].aggregate_sql;
}

}  // namespace
}  // namespace outcomes
