// SchemaSql: the collectors' SQL rendered from the store's own names (store.schema, see
// exporter/config/schema.h). Identifiers are always double-quoted and values always literals
// quoted for any setting of standard_conforming_strings, so no name or value of the config can
// change what a statement does. Metrics keep the reference values: *Label() turns the store's
// value back into the reference one inside the query. Immutable, safe to share.
#pragma once

#include <string>
#include <string_view>

#include "exporter/config/schema.h"

namespace outcomes {

// "name" with every " doubled.
std::string QuoteIdentifier(std::string_view name);
// 'value' with every ' doubled; E'...' with backslashes doubled too when the value holds one.
std::string QuoteLiteral(std::string_view value);

class SchemaSql {
 public:
  explicit SchemaSql(StoreSchema schema = {});

  const StoreSchema& schema() const { return schema_; }

  // The reference table `table` as the store names it: "shop"."recs", or "recs".
  std::string Table(const std::string& table) const;
  // The store's column for the reference column, quoted: "rec_id".
  std::string Column(const std::string& table, const std::string& column) const;
  // The store's value for a reference value, as a literal: 'bought'.
  std::string Status(const std::string& value) const;
  std::string FeedbackType(const std::string& value) const;
  std::string AbTestStatus(const std::string& value) const;
  // The reference value of the store's value in `expression` (a column), as SQL: the column
  // itself when the store writes the reference values, else a CASE; a value no entry names
  // passes as it is.
  std::string StatusLabel(const std::string& expression) const;
  std::string ReasonLabel(const std::string& expression) const;
  std::string FeedbackTypeLabel(const std::string& expression) const;
  // 'positive', 'neutral' or 'negative' for the score in `expression`, by the cut-offs.
  std::string Sentiment(const std::string& expression) const;

  // Fills a statement template: {table} gives Table(table), {table.column} Column(table,
  // column), {status:V}, {feedback_type:V} and {ab_test_status:V} the store's literal of V.
  // Other {words} (placeholders filled later, such as {filter}) stay. A placeholder with a dot
  // or a colon that names nothing throws std::invalid_argument: templates are fixed in the
  // code, so that is a programmer error, caught by the tests that render every statement.
  std::string Render(std::string_view sql) const;

 private:
  std::string Placeholder(const std::string& inner) const;

  StoreSchema schema_;
};

}  // namespace outcomes
