#include "exporter/store/schema_sql.h"

#include <stdexcept>

namespace outcomes {
namespace {

// The literal of the store's value for `value`, a reference value of `values`.
std::string ValueLiteral(const std::map<std::string, std::string>& values,
                         const std::string& value) {
  const auto found = values.find(value);
  if (found == values.end()) throw std::invalid_argument("SchemaSql: no value " + value);
  return QuoteLiteral(found->second);
}

// CASE expression WHEN 'store value' THEN 'REFERENCE' ... ELSE expression END, over the values
// the store writes differently; the expression alone when there is none.
std::string LabelOf(const std::map<std::string, std::string>& values,
                    const std::string& expression) {
  std::string cases;
  for (const auto& [reference, stored] : values) {
    if (reference == stored) continue;
    cases += " WHEN " + QuoteLiteral(stored) + " THEN " + QuoteLiteral(reference);
  }
  if (cases.empty()) return expression;
  return "CASE " + expression + cases + " ELSE " + expression + " END";
}

}  // namespace

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string QuoteLiteral(std::string_view value) {
  // With standard_conforming_strings off, a backslash in '...' escapes; in E'...' it always
  // does, so doubling it there is right for either setting.
  const bool escaped = value.find('\\') != std::string_view::npos;
  std::string out = escaped ? "E'" : "'";
  for (const char c : value) {
    if (c == '\'' || (escaped && c == '\\')) out += c;
    out += c;
  }
  return out + "'";
}

SchemaSql::SchemaSql(StoreSchema schema) : schema_(std::move(schema)) {}

std::string SchemaSql::Table(const std::string& table) const {
  const SchemaTable& mapped = schema_.tables.at(table);
  const std::string name = QuoteIdentifier(mapped.name);
  return mapped.schema.empty() ? name : QuoteIdentifier(mapped.schema) + "." + name;
}

std::string SchemaSql::Column(const std::string& table, const std::string& column) const {
  return QuoteIdentifier(schema_.tables.at(table).columns.at(column));
}

std::string SchemaSql::Status(const std::string& value) const {
  return ValueLiteral(schema_.status_values, value);
}

std::string SchemaSql::FeedbackType(const std::string& value) const {
  return ValueLiteral(schema_.feedback_type_values, value);
}

std::string SchemaSql::AbTestStatus(const std::string& value) const {
  return ValueLiteral(schema_.ab_test_status_values, value);
}

std::string SchemaSql::StatusLabel(const std::string& expression) const {
  return LabelOf(schema_.status_values, expression);
}

std::string SchemaSql::ReasonLabel(const std::string& expression) const {
  return LabelOf(schema_.reason_values, expression);
}

std::string SchemaSql::FeedbackTypeLabel(const std::string& expression) const {
  return LabelOf(schema_.feedback_type_values, expression);
}

std::string SchemaSql::Sentiment(const std::string& expression) const {
  return "CASE WHEN " + expression + " >= " + std::to_string(schema_.positive_min) +
         " THEN 'positive' WHEN " + expression + " <= " + std::to_string(schema_.negative_max) +
         " THEN 'negative' ELSE 'neutral' END";
}

std::string SchemaSql::Placeholder(const std::string& inner) const {
  if (schema_.tables.contains(inner)) return Table(inner);
  const std::size_t colon = inner.find(':');
  if (colon != std::string::npos) {
    const std::string kind = inner.substr(0, colon);
    const std::string value = inner.substr(colon + 1);
    if (kind == "status") return Status(value);
    if (kind == "feedback_type") return FeedbackType(value);
    if (kind == "ab_test_status") return AbTestStatus(value);
    throw std::invalid_argument("SchemaSql: unknown placeholder {" + inner + "}");
  }
  const std::size_t dot = inner.find('.');
  if (dot != std::string::npos) {
    const auto table = schema_.tables.find(inner.substr(0, dot));
    if (table == schema_.tables.end() || !table->second.columns.contains(inner.substr(dot + 1))) {
      throw std::invalid_argument("SchemaSql: unknown placeholder {" + inner + "}");
    }
    return QuoteIdentifier(table->second.columns.at(inner.substr(dot + 1)));
  }
  return "{" + inner + "}";
}

std::string SchemaSql::Render(std::string_view sql) const {
  std::string out;
  out.reserve(sql.size() + sql.size() / 4);
  std::size_t at = 0;
  while (at < sql.size()) {
    const std::size_t open = sql.find('{', at);
    const std::size_t close = open == std::string_view::npos ? open : sql.find('}', open);
    if (close == std::string_view::npos) break;
    out += sql.substr(at, open - at);
    out += Placeholder(std::string(sql.substr(open + 1, close - open - 1)));
    at = close + 1;
  }
  out += sql.substr(std::min(at, sql.size()));
  return out;
}

}  // namespace outcomes
