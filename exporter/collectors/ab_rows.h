// Reading and writing the values of the A/B statements: exact integers (revenue in cents,
// squares in cents²) and booleans from result text, arm sums from a row, PostgreSQL array
// literals for parameters. Pure functions; errors name `what`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/collectors/ab_aggregates.h"

namespace outcomes::ab_rows {

// NULL reads as 0.
Result<ExactSum> ParseExact(const std::optional<std::string>& text, const std::string& what);
Result<std::int64_t> ParseCount(const std::optional<std::string>& text, const std::string& what);
// PostgreSQL's "t"/"f"; NULL reads as false.
Result<bool> ParseBool(const std::optional<std::string>& text, const std::string& what);

// Sums from `row`, starting at column `first`: customers, recommendations, converted,
// purchases, returns, revenue, score sum, score count, squares.
Result<AbSums> ParseSums(const Row& row, std::size_t first, const std::string& what);

// Array literals; text elements quoted, with " and \ escaped.
std::string IdArray(const std::vector<std::int64_t>& ids);
std::string TextArray(const std::vector<std::string>& values);

// The tests as the three text[] parameters (test, variant_a, variant_b) of the statements.
std::vector<std::string> TestArrays(const std::map<std::string, AbTestSums>& tests);

}  // namespace outcomes::ab_rows
