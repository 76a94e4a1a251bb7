#include "exporter/store/plan_check.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace outcomes {
namespace {

using Json = nlohmann::json;
using Indexes = std::vector<ShippedIndex>;

// The keys of a plan node whose text holds the conditions that pick rows.
constexpr const char* kConditionKeys[] = {"Filter",    "Index Cond", "Recheck Cond",
                                          "Hash Cond", "Merge Cond", "Join Filter"};

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Whether `text` mentions `column` as a whole word, alone or qualified by any alias.
bool MentionsColumn(const std::string& text, const std::string& column) {
  for (std::size_t at = text.find(column); at != std::string::npos;
       at = text.find(column, at + 1)) {
    const bool starts = at == 0 || !IsIdentifierChar(text[at - 1]);
    const std::size_t end = at + column.size();
    const bool ends = end == text.size() || !IsIdentifierChar(text[end]);
    if (starts && ends) return true;
  }
  return false;
}

std::string Conditions(const Json& node) {
  std::string text;
  for (const char* key : kConditionKeys) {
    if (node.contains(key) && node[key].is_string()) text += node[key].get<std::string>() + " ";
  }
  return text;
}

// The keys a node sorts or groups by: an index can give that order.
std::string Orderings(const Json& node) {
  std::string text;
  for (const char* key : {"Sort Key", "Group Key"}) {
    if (!node.contains(key) || !node[key].is_array()) continue;
    for (const Json& item : node[key]) {
      if (item.is_string()) text += item.get<std::string>() + " ";
    }
  }
  return text;
}

const ShippedIndex* ShippedByName(const Indexes& indexes, const std::string& name) {
  for (const ShippedIndex& index : indexes) {
    if (index.name == name) return &index;
  }
  return nullptr;
}

bool Watched(const Indexes& indexes, const std::string& table) {
  return std::any_of(indexes.begin(), indexes.end(),
                     [&](const ShippedIndex& index) { return index.table == table; });
}

// An index read that does not narrow by the index's first column walks the whole index.
bool ReadsWholeIndex(const Indexes& indexes, const Json& node) {
  if (!node.contains("Index Name")) return false;
  if (!node.contains("Index Cond")) return true;
  const ShippedIndex* index = ShippedByName(indexes, node["Index Name"].get<std::string>());
  return index != nullptr &&
         !MentionsColumn(node["Index Cond"].get<std::string>(), index->leading_column);
}

// The index a bitmap scan walks whole, if any (through BitmapAnd/BitmapOr).
std::string WholeBitmapIndex(const Indexes& indexes, const Json& node) {
  if (node.value("Node Type", "") == "Bitmap Index Scan" && ReadsWholeIndex(indexes, node)) {
    return node.value("Index Name", "");
  }
  if (!node.contains("Plans")) return "";
  for (const Json& child : node["Plans"]) {
    std::string walked = WholeBitmapIndex(indexes, child);
    if (!walked.empty()) return walked;
  }
  return "";
}

struct WholeReadNode {
  std::string description;  // "Seq Scan", "Index Scan using x", ...
  std::string walked;       // the index walked whole; empty for a sequential scan
};

// How the node reads its (watched) table whole, if it does.
std::optional<WholeReadNode> WholeRead(const Indexes& indexes, const Json& node, bool under_limit) {
  const std::string type = node.value("Node Type", "");
  if (!Watched(indexes, node.value("Relation Name", ""))) return std::nullopt;
  if (type == "Seq Scan") return WholeReadNode{type, ""};
  // A LIMIT stops an index walk early: min(), max() and the loose scan of first_seen.
  if ((type == "Index Scan" || type == "Index Only Scan") && !under_limit &&
      ReadsWholeIndex(indexes, node)) {
    const std::string index = node.value("Index Name", "");
    return WholeReadNode{type + " using " + index, index};
  }
  if (type == "Bitmap Heap Scan") {
    std::string walked = WholeBitmapIndex(indexes, node);
    if (!walked.empty()) return WholeReadNode{type + " using " + walked, walked};
  }
  return std::nullopt;
}

// The first shipped index of `table` whose leading column `text` names, other than the one
// the plan already walks whole.
std::string IndexFor(const Indexes& indexes, const std::string& table, const std::string& text,
                     const std::string& walked) {
  for (const ShippedIndex& index : indexes) {
    if (index.table == table && index.name != walked &&
        MentionsColumn(text, index.leading_column)) {
      return index.name;
    }
  }
  return "";
}

// What the node's ancestors ask of it: their conditions (a join condition names the column
// the inner side would be looked up by) and the orders they sort or group by.
struct Context {
  std::string conditions;
  std::string orderings;
  bool under_limit = false;
};

// Depth first, the first node that reads a watched table whole.
std::optional<WholeTableRead> Visit(const Indexes& indexes, const Json& node,
                                    const Context& above) {
  const Context here{above.conditions + Conditions(node), above.orderings + Orderings(node),
                     above.under_limit || node.value("Node Type", "") == "Limit"};
  const std::optional<WholeReadNode> whole = WholeRead(indexes, node, above.under_limit);
  if (whole) {
    const std::string table = node.value("Relation Name", "");
    std::string index = IndexFor(indexes, table, here.conditions, whole->walked);
    if (index.empty()) index = IndexFor(indexes, table, here.orderings, whole->walked);
    return WholeTableRead{table, whole->description + " on " + table, index};
  }
  if (!node.contains("Plans")) return std::nullopt;
  for (const Json& child : node["Plans"]) {
    std::optional<WholeTableRead> found = Visit(indexes, child, here);
    if (found) return found;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<ShippedIndex>& ShippedIndexes() {
  // Mirrors the CREATE INDEX lines of deploy/sql/schema.sql (and the primary keys); a test
  // checks that every name here exists in a store made from that file.
  static const std::vector<ShippedIndex> kIndexes = {
      {"recommendations", "ab_test_id", "recommendations_ab_test_id_customer_id_idx"},
      {"recommendations", "model_version", "recommendations_model_version_created_at_idx"},
      {"recommendations", "created_at", "recommendations_created_at_idx"},
      {"recommendations", "id", "recommendations_pkey"},
      {"outcome_events", "recommendation_id", "outcome_events_recommendation_id_idx"},
      {"outcome_events", "occurred_at", "outcome_events_occurred_at_idx"},
      {"outcome_events", "id", "outcome_events_pkey"},
      {"feedback", "recommendation_id", "feedback_recommendation_id_idx"},
      {"feedback", "id", "feedback_pkey"},
  };
  return kIndexes;
}

std::vector<ShippedIndex> WatchedIndexes(const StoreSchema& schema) {
  std::vector<ShippedIndex> out;
  for (const ShippedIndex& index : ShippedIndexes()) {
    const auto table = schema.tables.find(index.table);
    if (table == schema.tables.end()) {
      out.push_back(index);
      continue;
    }
    const auto column = table->second.columns.find(index.leading_column);
    // EXPLAIN names a relation without its schema and unquoted: the catalog's spelling.
    out.push_back({table->second.name,
                   column == table->second.columns.end() ? index.leading_column : column->second,
                   index.name});
  }
  return out;
}

Result<std::optional<WholeTableRead>> FindWholeTableRead(const std::string& plan_json,
                                                         const Indexes& watched) {
  const Json plan = Json::parse(plan_json, nullptr, /*allow_exceptions=*/false);
  if (!plan.is_array() || plan.empty() || !plan[0].contains("Plan")) {
    return Status::Error("unexpected EXPLAIN output");
  }
  return Visit(watched, plan[0]["Plan"], Context{});
}

Result<std::vector<std::pair<std::string, WholeTableRead>>> CheckPlans(
    StoreSession& session, const std::vector<PlannedStatement>& statements,
    const Indexes& watched) {
  std::vector<std::pair<std::string, WholeTableRead>> findings;
  const Status status = session.InSnapshot([&](SnapshotReader& reader) {
    // Local to this snapshot: with sequential scans priced out, a plan keeps one only when no
    // index can serve the statement, whatever the size of the tables.
    Result<std::vector<Row>> off =
        reader.Query("plan_check", "SELECT set_config('enable_seqscan', 'off', true)", {});
    if (!off.ok()) return off.status();
    for (const PlannedStatement& statement : statements) {
      Result<std::vector<Row>> rows =
          reader.Query("plan_check", "EXPLAIN (FORMAT JSON) " + statement.sql, statement.params);
      if (!rows.ok()) return Status::Error(statement.name + ": " + rows.error());
      if (rows.value().empty() || rows.value()[0].empty() || !rows.value()[0][0]) {
        return Status::Error(statement.name + ": empty EXPLAIN output");
      }
      Result<std::optional<WholeTableRead>> found =
          FindWholeTableRead(*rows.value()[0][0], watched);
      if (!found.ok()) return Status::Error(statement.name + ": " + found.error());
      if (found.value()) findings.emplace_back(statement.name, *found.value());
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return findings;
}

void CheckPlansOnce(const SessionFactory& make_session, const SessionOptions& options,
                    const std::vector<PlannedStatement>& statements, Logger& log,
                    const std::string& collector, const Indexes& watched) {
  if (statements.empty()) return;
  std::unique_ptr<StoreSession> session = make_session(options);
  Status connected = session->Connect();
  Result<std::vector<std::pair<std::string, WholeTableRead>>> findings =
      connected.ok() ? CheckPlans(*session, statements, watched)
                     : Result<std::vector<std::pair<std::string, WholeTableRead>>>(connected);
  // The session closes its connection when it goes, at the end of this function.
  if (!findings.ok()) {
    log.Info("could not check the plans of the collector's statements",
             {{"collector", collector}, {"err", findings.error()}});
    return;
  }
  for (const auto& [statement, read] : findings.value()) {
    log.Warn(
        "a statement reads a whole table: an index of deploy/sql/schema.sql is missing; "
        "the statement gets slower as the table grows",
        {{"collector", collector},
         {"statement", statement},
         {"table", read.table},
         {"plan", read.node},
         {"index", read.index.empty() ? "(none shipped fits)" : read.index}});
  }
}

}  // namespace outcomes
