#include "exporter/config/schema_config.h"

#include <algorithm>
#include <set>

namespace outcomes {

const std::map<std::string, std::vector<std::string>>& ReferenceColumns() {
  // traffic_share_b is optional in the store: the A/B collector looks for it (ab_tests.cc).
  static const std::map<std::string, std::vector<std::string>> kColumns = {
      {"recommendations",
       {"id", "customer_id", "product_id", "model_version", "ab_test_id", "variant", "score",
        "price", "created_at"}},
      {"outcome_events", {"id", "recommendation_id", "status", "reason", "revenue", "occurred_at"}},
      {"feedback", {"id", "recommendation_id", "feedback_type", "score", "comment", "created_at"}},
      {"ab_tests",
       {"test_id", "variant_a", "variant_b", "started_at", "ends_at", "status", "traffic_share_b"}},
  };
  return kColumns;
}

const std::vector<std::string>& ReferenceStatuses() {
  static const std::vector<std::string> kValues = {"PENDING",   "ACCEPTED",      "REJECTED",
                                                   "PURCHASED", "NOT_PURCHASED", "RETURNED"};
  return kValues;
}

const std::vector<std::string>& ReferenceReasons() {
  static const std::vector<std::string> kValues = {
      "PRICE_TOO_HIGH", "NOT_INTERESTED", "QUALITY_CONCERN",  "COMPETITOR_CHOICE",
      "ALREADY_OWNS",   "QUALITY_ISSUE",  "NOT_AS_DESCRIBED", "BETTER_ALTERNATIVE",
      "SATISFIED",      "EXCELLENT"};
  return kValues;
}

const std::vector<std::string>& ReferenceFeedbackTypes() {
  static const std::vector<std::string> kValues = {"SATISFACTION", "QUALITY",  "RELEVANCE",
                                                   "PRICE",        "DELIVERY", "CUSTOM"};
  return kValues;
}

const std::vector<std::string>& ReferenceAbTestStatuses() {
  static const std::vector<std::string> kValues = {"RUNNING", "ENDED"};
  return kValues;
}

std::map<std::string, SchemaTable> ReferenceSchemaTables() {
  std::map<std::string, SchemaTable> tables;
  for (const auto& [table, columns] : ReferenceColumns()) {
    SchemaTable& mapped = tables[table];
    mapped.name = table;
    for (const std::string& column : columns) mapped.columns[column] = column;
  }
  return tables;
}

std::map<std::string, std::string> IdentityValues(const std::vector<std::string>& values) {
  std::map<std::string, std::string> identity;
  for (const std::string& value : values) identity[value] = value;
  return identity;
}

namespace {

// PostgreSQL keeps the first NAMEDATALEN - 1 bytes of a name and drops the rest silently.
constexpr std::size_t kMaxIdentifierBytes = 63;

bool PlainStart(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool PlainPart(char c) { return PlainStart(c) || (c >= '0' && c <= '9') || c == '$'; }

// Reads one part starting at text[at]; moves `at` past it.
std::optional<std::string> ParsePart(const std::string& text, std::size_t& at, std::string& error) {
  std::string part;
  if (at < text.size() && text[at] == '"') {
    for (++at;; ++at) {
      if (at >= text.size()) {
        error = "a double quote is not closed";
        return std::nullopt;
      }
      if (text[at] == '"') {
        if (at + 1 < text.size() && text[at + 1] == '"') {
          part += '"';
          ++at;
          continue;
        }
        ++at;
        break;
      }
      part += text[at];
    }
    if (part.empty()) error = "a quoted name is empty";
  } else {
    const std::size_t start = at;
    while (at < text.size() && text[at] != '.' && text[at] != '"') ++at;
    part = text.substr(start, at - start);
    if (part.empty()) {
      error = "a name is empty";
    } else if (!PlainStart(part[0]) || !std::all_of(part.begin(), part.end(), PlainPart)) {
      error = "\"" + part +
              "\" is not a plain lower-case name; write a name with capitals, spaces, dots or "
              "other characters in double quotes, as in SQL (for example '\"" +
              part + "\"')";
    }
  }
  if (error.empty() && part.size() > kMaxIdentifierBytes) {
    error = "\"" + part + "\" is longer than 63 bytes, PostgreSQL's limit for a name";
  }
  if (error.empty() && part.find('\0') != std::string::npos) error = "a name holds a NUL byte";
  if (!error.empty()) return std::nullopt;
  return part;
}

}  // namespace

std::optional<std::vector<std::string>> ParseSqlName(const std::string& text, std::string& error) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  error.clear();
  while (true) {
    std::optional<std::string> part = ParsePart(text, at, error);
    if (!part) return std::nullopt;
    parts.push_back(std::move(*part));
    if (at == text.size()) return parts;
    if (text[at] != '.') {
      error = "expected a dot after \"" + parts.back() + "\"";
      return std::nullopt;
    }
    ++at;
  }
}

namespace {

// The entries of one mapping of the section, or nothing (reported) when it is not a mapping;
// reports duplicate keys and keys outside `known`, which it leaves out.
std::vector<std::pair<YAML::Node, YAML::Node>> Entries(const YAML::Node& node,
                                                       const std::string& path,
                                                       const std::vector<std::string>& known,
                                                       const std::string& unknown_hint,
                                                       ErrorList& errors) {
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  if (!node.IsMap()) {
    errors.Add(node.Mark(), path + ": expected a mapping");
    return entries;
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (!seen.insert(key).second) {
      errors.Add(entry.first.Mark(), path + "." + key + ": duplicate key");
      continue;
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      errors.Add(entry.first.Mark(), path + "." + key + ": " + unknown_hint);
      continue;
    }
    entries.emplace_back(entry.first, entry.second);
  }
  return entries;
}

std::string JoinedList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// A scalar string with ${VAR} expanded, or nullopt (reported).
std::optional<std::string> ScalarText(const YAML::Node& node, const std::string& path,
                                      const EnvLookup& env, ErrorList& errors) {
  if (node.IsNull() || !node.IsScalar()) {
    errors.Add(node.Mark(), path + ": expected a string");
    return std::nullopt;
  }
  Result<std::string> expanded = ExpandEnv(node.Scalar(), env);
  if (!expanded.ok()) {
    errors.Add(node.Mark(), path + ": " + expanded.error());
    return std::nullopt;
  }
  if (expanded.value().empty()) {
    errors.Add(node.Mark(), path + ": must not be empty");
    return std::nullopt;
  }
  // Braces mark the placeholders of the statements ({filter}); a name or value never needs
  // them, and refusing them keeps the rendering one simple pass.
  if (expanded.value().find_first_of("{}") != std::string::npos) {
    errors.Add(node.Mark(), path + ": must not hold { or }");
    return std::nullopt;
  }
  return std::move(expanded).value();
}

// A name of one part (a column) or of one or two (a table, maybe schema-qualified).
std::optional<std::vector<std::string>> SqlName(const YAML::Node& node, const std::string& path,
                                                std::size_t max_parts, const EnvLookup& env,
                                                ErrorList& errors) {
  std::optional<std::string> text = ScalarText(node, path, env, errors);
  if (!text) return std::nullopt;
  std::string error;
  std::optional<std::vector<std::string>> parts = ParseSqlName(*text, error);
  if (parts && parts->size() > max_parts) {
    error = max_parts == 1 ? "a column name has no dots (write it in double quotes if its name "
                             "holds one)"
                           : "expected table or schema.table";
    parts.reset();
  }
  if (!parts) errors.Add(node.Mark(), path + ": invalid name " + *text + ": " + error);
  return parts;
}

void ReadTable(const std::string& table, const YAML::Node& node, const std::string& path,
               SchemaTable& out, const EnvLookup& env, ErrorList& errors) {
  static const std::vector<std::string> kKeys = {"name", "columns"};
  std::map<std::string, YAML::Mark> marks;  // of the columns named
  for (const auto& [key, value] : Entries(node, path, kKeys, "unknown key", errors)) {
    const std::string field = path + "." + key.Scalar();
    if (key.Scalar() == "name") {
      if (auto parts = SqlName(value, field, 2, env, errors)) {
        out.schema = parts->size() == 2 ? (*parts)[0] : "";
        out.name = parts->back();
      }
      continue;
    }
    const std::vector<std::string>& columns = ReferenceColumns().at(table);
    const std::string hint =
        "unknown column of " + table + " (its columns are " + JoinedList(columns) + ")";
    for (const auto& [column, name] : Entries(value, field, columns, hint, errors)) {
      if (auto parts = SqlName(name, field + "." + column.Scalar(), 1, env, errors)) {
        out.columns[column.Scalar()] = parts->front();
        marks[column.Scalar()] = name.Mark();
      }
    }
  }
  // Two reference columns read from one column of the store would mix what they count.
  // Reported at the one named here: the defaults alone never collide.
  std::map<std::string, std::string> owner;
  for (const auto& [column, name] : out.columns) {
    const auto [at, fresh] = owner.emplace(name, column);
    if (fresh) continue;
    const std::string& here = marks.contains(column) ? column : at->second;
    const std::string& other = here == column ? at->second : column;
    errors.Add(marks.at(here),
               path + ".columns." + here + ": \"" + name + "\" is also the column of " + other);
  }
}

void ReadValues(const YAML::Node& node, const std::string& path, const std::string& kind,
                const std::vector<std::string>& reference, std::map<std::string, std::string>& out,
                const EnvLookup& env, ErrorList& errors) {
  const std::string hint =
      "unknown " + kind + " (the reference values are " + JoinedList(reference) + ")";
  std::map<std::string, YAML::Mark> marks;
  for (const auto& [key, value] : Entries(node, path, reference, hint, errors)) {
    if (auto text = ScalarText(value, path + "." + key.Scalar(), env, errors)) {
      out[key.Scalar()] = *text;
      marks[key.Scalar()] = value.Mark();
    }
  }
  // Each value of the store must stand for one reference value, or its rows would be counted
  // under whichever the SQL tries first. Reported at the configured one of the two: the
  // defaults alone never collide.
  std::map<std::string, std::string> owner;
  for (const std::string& value : reference) {
    const auto [at, fresh] = owner.emplace(out.at(value), value);
    if (fresh) continue;
    const std::string& here = marks.contains(value) ? value : at->second;
    const std::string& other = here == value ? at->second : value;
    errors.Add(marks.contains(here) ? marks.at(here) : node.Mark(),
               path + "." + here + ": \"" + out.at(value) + "\" is also the value of " + other);
  }
}

void ReadSentiment(const YAML::Node& node, const std::string& path, StoreSchema& out,
                   ErrorList& errors) {
  static const std::vector<std::string> kKeys = {"positive_min", "negative_max"};
  for (const auto& [key, value] : Entries(node, path, kKeys, "unknown key", errors)) {
    std::int64_t number = 0;
    try {
      number = value.as<std::int64_t>();
    } catch (const YAML::Exception&) {
      errors.Add(value.Mark(), path + "." + key.Scalar() + ": expected an integer score");
      continue;
    }
    (key.Scalar() == "positive_min" ? out.positive_min : out.negative_max) = number;
  }
  if (out.negative_max >= out.positive_min) {
    errors.Add(node.Mark(), path + ": negative_max (" + std::to_string(out.negative_max) +
                                ") must be below positive_min (" +
                                std::to_string(out.positive_min) + ")");
  }
}

}  // namespace

StoreSchema ReadStoreSchema(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  StoreSchema schema;
  if (!node.IsDefined() || node.IsNull()) return schema;
  const std::string path = "store.schema";
  static const std::vector<std::string> kKeys = {
      "tables",   "status_values", "reason_values", "feedback_type_values", "ab_test_status_values",
      "sentiment"};
  for (const auto& [key, value] : Entries(node, path, kKeys, "unknown key", errors)) {
    const std::string field = path + "." + key.Scalar();
    if (key.Scalar() == "tables") {
      std::vector<std::string> tables;
      for (const auto& [table, columns] : ReferenceColumns()) tables.push_back(table);
      const std::string hint =
          "unknown table (the reference tables are " + JoinedList(tables) + ")";
      for (const auto& [table, mapping] : Entries(value, field, tables, hint, errors)) {
        ReadTable(table.Scalar(), mapping, field + "." + table.Scalar(),
                  schema.tables.at(table.Scalar()), env, errors);
      }
    } else if (key.Scalar() == "status_values") {
      ReadValues(value, field, "status", ReferenceStatuses(), schema.status_values, env, errors);
    } else if (key.Scalar() == "reason_values") {
      ReadValues(value, field, "reason", ReferenceReasons(), schema.reason_values, env, errors);
    } else if (key.Scalar() == "feedback_type_values") {
      ReadValues(value, field, "feedback type", ReferenceFeedbackTypes(),
                 schema.feedback_type_values, env, errors);
    } else if (key.Scalar() == "ab_test_status_values") {
      ReadValues(value, field, "A/B test status", ReferenceAbTestStatuses(),
                 schema.ab_test_status_values, env, errors);
    } else {
      ReadSentiment(value, field, schema, errors);
    }
  }
  return schema;
}

}  // namespace outcomes
