#include "exporter/collectors/ab_rows.h"

namespace outcomes::ab_rows {

Result<ExactSum> ParseExact(const std::optional<std::string>& text, const std::string& what) {
  if (!text) return ExactSum{0};
  const std::string& s = *text;
  std::size_t at = s.empty() || s[0] != '-' ? 0 : 1;
  if (at == s.size()) return Status::Error(what + ": expected an integer, got \"" + s + "\"");
  ExactSum value = 0;
  for (; at < s.size(); ++at) {
    if (s[at] < '0' || s[at] > '9') {
      return Status::Error(what + ": expected an integer, got \"" + s + "\"");
    }
    value = value * 10 + (s[at] - '0');
  }
  return s[0] == '-' ? -value : value;
}

Result<std::int64_t> ParseCount(const std::optional<std::string>& text, const std::string& what) {
  Result<ExactSum> value = ParseExact(text, what);
  if (!value.ok()) return value.status();
  return static_cast<std::int64_t>(value.value());
}

Result<AbSums> ParseSums(const Row& row, std::size_t first, const std::string& what) {
  AbSums sums;
  std::int64_t* counts[] = {&sums.customers, &sums.recommendations, &sums.converted_customers,
                            &sums.purchases, &sums.returns};
  for (std::size_t i = 0; i < 5; ++i) {
    Result<std::int64_t> value = ParseCount(row[first + i], what);
    if (!value.ok()) return value.status();
    *counts[i] = value.value();
  }
  Result<ExactSum> revenue = ParseExact(row[first + 5], what);
  Result<std::int64_t> score_sum = ParseCount(row[first + 6], what);
  Result<std::int64_t> score_count = ParseCount(row[first + 7], what);
  Result<ExactSum> squares = ParseExact(row[first + 8], what);
  for (const Status& status :
       {revenue.status(), score_sum.status(), score_count.status(), squares.status()}) {
    if (!status.ok()) return status;
  }
  sums.revenue_cents = revenue.value();
  sums.satisfaction_sum = score_sum.value();
  sums.satisfaction_count = score_count.value();
  sums.revenue_squares_cents = squares.value();
  return sums;
}

std::string IdArray(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i > 0 ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += i > 0 ? ",\"" : "\"";
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

Result<bool> ParseBool(const std::optional<std::string>& text, const std::string& what) {
  if (!text || *text == "f") return false;
  if (*text == "t") return true;
  return Status::Error(what + ": expected a boolean, got \"" + *text + "\"");
}

std::vector<std::string> TestArrays(const std::map<std::string, AbTestSums>& tests) {
  std::vector<std::string> names;
  std::vector<std::string> variants_a;
  std::vector<std::string> variants_b;
  for (const auto& [test, sums] : tests) {
    names.push_back(test);
    variants_a.push_back(sums.variant_a);
    variants_b.push_back(sums.variant_b);
  }
  return {TextArray(names), TextArray(variants_a), TextArray(variants_b)};
}

}  // namespace outcomes::ab_rows
