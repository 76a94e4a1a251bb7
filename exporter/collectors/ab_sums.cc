// The arm sums: adding them, their exact text, their value in currency units, the log of a
// reconciliation's corrections.
#include <algorithm>
#include <cstdlib>

#include "exporter/collectors/ab_aggregates.h"

namespace outcomes {
namespace {

AbSums Difference(const AbSums& to, const AbSums& from) {
  AbSums d;
  d.customers = to.customers - from.customers;
  d.recommendations = to.recommendations - from.recommendations;
  d.converted_customers = to.converted_customers - from.converted_customers;
  d.purchases = to.purchases - from.purchases;
  d.returns = to.returns - from.returns;
  d.revenue_cents = to.revenue_cents - from.revenue_cents;
  d.revenue_squares_cents = to.revenue_squares_cents - from.revenue_squares_cents;
  d.satisfaction_sum = to.satisfaction_sum - from.satisfaction_sum;
  d.satisfaction_count = to.satisfaction_count - from.satisfaction_count;
  return d;
}

double ScaledToDouble(ExactSum value, const char* exponent) {
  // strtod rounds the decimal correctly, as PostgreSQL's numeric -> float8 cast does.
  const std::string text = ExactSumText(value) + exponent;
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

AbSums& AbSums::operator+=(const AbSums& other) {
  customers += other.customers;
  recommendations += other.recommendations;
  converted_customers += other.converted_customers;
  purchases += other.purchases;
  returns += other.returns;
  revenue_cents += other.revenue_cents;
  revenue_squares_cents += other.revenue_squares_cents;
  satisfaction_sum += other.satisfaction_sum;
  satisfaction_count += other.satisfaction_count;
  return *this;
}

std::string ExactSumText(ExactSum value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  std::string digits;
  for (; value != 0; value /= 10) {
    const int digit = static_cast<int>(value % 10);
    digits += static_cast<char>('0' + (negative ? -digit : digit));
  }
  if (negative) digits += '-';
  std::reverse(digits.begin(), digits.end());
  return digits;
}

double CentsToUnits(ExactSum cents) { return ScaledToDouble(cents, "e-2"); }
double SquareCentsToUnits(ExactSum square_cents) { return ScaledToDouble(square_cents, "e-4"); }

void LogCorrections(Logger& log, const std::string& collector,
                    const std::vector<AbCorrection>& corrections) {
  for (const AbCorrection& correction : corrections) {
    const AbSums d = Difference(correction.store, correction.counted);
    log.Info(
        "the A/B sweep found rows committed after store.late_commit_window; their change "
        "to the aggregates (counted now minus before)",
        {{"collector", collector},
         {"ab_test", correction.test},
         {"variant", correction.variant},
         {"customers", std::to_string(d.customers)},
         {"converted_customers", std::to_string(d.converted_customers)},
         {"recommendations", std::to_string(d.recommendations)},
         {"purchases", std::to_string(d.purchases)},
         {"returns", std::to_string(d.returns)},
         {"revenue_cents", ExactSumText(d.revenue_cents)},
         {"revenue_squares_cents", ExactSumText(d.revenue_squares_cents)},
         {"satisfaction_count", std::to_string(d.satisfaction_count)}});
  }
}

}  // namespace outcomes
