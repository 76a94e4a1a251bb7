// `store.schema`: how the user's store names what the reference schema (deploy/sql/) calls
// recommendations, outcome_events, feedback and ab_tests, their columns and their status,
// reason and feedback type values, and where the feedback sentiment is cut. Every collector
// that reads the store builds its SQL from it (SchemaSql), and exports the reference values,
// so the shipped rules and dashboards work on any schema. Plain values (not shared).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace outcomes {

// One reference table as the store names it.
struct SchemaTable {
  // The schema (namespace) holding the table; empty: the connection's search_path finds it.
  // Default: empty.
  std::string schema;
  // The table's name as the catalog spells it (case-sensitive). Default: the reference name.
  std::string name;
  // Reference column -> the store's column. Holds every reference column of the table.
  // Default: each reference column under its own name.
  std::map<std::string, std::string> columns;

  bool operator==(const SchemaTable&) const = default;
};

// The reference names: tables with their columns, and the values of each kind.
const std::map<std::string, std::vector<std::string>>& ReferenceColumns();
const std::vector<std::string>& ReferenceStatuses();
const std::vector<std::string>& ReferenceReasons();
const std::vector<std::string>& ReferenceFeedbackTypes();
const std::vector<std::string>& ReferenceAbTestStatuses();

// The reference schema's tables, each with every column under its own name.
std::map<std::string, SchemaTable> ReferenceSchemaTables();
// Every value of `values` mapped to itself.
std::map<std::string, std::string> IdentityValues(const std::vector<std::string>& values);

struct StoreSchema {
  // By reference table name (recommendations, outcome_events, feedback, ab_tests).
  // Default: ReferenceSchemaTables().
  std::map<std::string, SchemaTable> tables = ReferenceSchemaTables();
  // Reference value -> the value the store writes, for outcome_events.status, .reason,
  // feedback.feedback_type and ab_tests.status. Metrics carry the reference value; a value
  // the store writes that no entry names is exported as it is. Default: each value itself.
  std::map<std::string, std::string> status_values = IdentityValues(ReferenceStatuses());
  std::map<std::string, std::string> reason_values = IdentityValues(ReferenceReasons());
  std::map<std::string, std::string> feedback_type_values =
      IdentityValues(ReferenceFeedbackTypes());
  std::map<std::string, std::string> ab_test_status_values =
      IdentityValues(ReferenceAbTestStatuses());
  // Feedback sentiment: score >= positive_min is positive, score <= negative_max negative,
  // anything between neutral. Default: 4 and 2 (the 1 to 5 stars of the reference).
  std::int64_t positive_min = 4;
  std::int64_t negative_max = 2;

  bool operator==(const StoreSchema&) const = default;
};

}  // namespace outcomes
