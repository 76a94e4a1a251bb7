#include "exporter/collectors/ab_tests.h"

#include <cmath>

#include "exporter/analytics/stats.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

// One row per (test, variant) with the per-customer sums; only the two variants of each test.
constexpr const char* kArmsSql = R"SQL(
WITH tests AS (
  SELECT test_id, variant_a, variant_b FROM ab_tests
  WHERE status = 'RUNNING' OR ends_at IS NULL OR ends_at >= now() - $1::interval
), recs AS (
  SELECT r.id, r.ab_test_id, r.variant, r.customer_id
  FROM recommendations r JOIN tests t ON t.test_id = r.ab_test_id
  WHERE r.variant IN (t.variant_a, t.variant_b)
), outcomes AS (
  SELECT e.recommendation_id,
         bool_or(e.status = 'PURCHASED') AS purchased,
         bool_or(e.status = 'RETURNED') AS returned,
         coalesce(sum(e.revenue) FILTER (WHERE e.status = 'PURCHASED'), 0)
           - coalesce(sum(e.revenue) FILTER (WHERE e.status = 'RETURNED'), 0) AS revenue
  FROM outcome_events e JOIN recs ON recs.id = e.recommendation_id
  GROUP BY e.recommendation_id
), satisfaction AS (
  SELECT f.recommendation_id, sum(f.score) AS score_sum, count(*) AS score_count
  FROM feedback f JOIN recs ON recs.id = f.recommendation_id
  WHERE f.feedback_type = 'SATISFACTION'
  GROUP BY f.recommendation_id
), customers AS (
  SELECT recs.ab_test_id, recs.variant, recs.customer_id,
         count(*) AS recommendations,
         count(*) FILTER (WHERE o.purchased) AS purchases,
         count(*) FILTER (WHERE o.returned) AS returns,
         bool_or(coalesce(o.purchased, false)) AS converted,
         coalesce(sum(o.revenue), 0) AS revenue,
         coalesce(sum(s.score_sum), 0) AS score_sum,
         coalesce(sum(s.score_count), 0) AS score_count
  FROM recs
  LEFT JOIN outcomes o ON o.recommendation_id = recs.id
  LEFT JOIN satisfaction s ON s.recommendation_id = recs.id
  GROUP BY 1, 2, 3
)
SELECT c.ab_test_id, c.variant, t.variant_a, t.variant_b,
       count(*), sum(c.recommendations), count(*) FILTER (WHERE c.converted),
       sum(c.purchases), sum(c.returns), sum(c.revenue)::float8,
       sum(c.score_sum), sum(c.score_count)
FROM customers c JOIN tests t ON t.test_id = c.ab_test_id
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2
)SQL";

std::string IntervalLiteral(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " seconds";
}

double Ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0;
}

}  // namespace

AbResult AnalyzeAbTest(const std::string& test, const AbArm& a, const AbArm& b,
                       const AbTestsConfig& config, double previous_always_valid) {
  AbResult result;
  result.test = test;
  result.a = a;
  result.b = b;
  const stats::ProportionTest z = stats::TwoProportionZTest(
      a.converted_customers, a.customers, b.converted_customers, b.customers, config.confidence);
  result.lift = z.relative_lift;
  result.lift_ci_low = Ratio(z.ci_low, z.rate_a);
  result.lift_ci_high = Ratio(z.ci_high, z.rate_a);
  result.p_value = z.p_value;
  result.always_valid_p_value =
      std::min(previous_always_valid,
               stats::MsprtPValue(a.converted_customers, a.customers, b.converted_customers,
                                  b.customers, config.msprt_tau));
  result.probability_b_beats_a = stats::ProbabilityBBeatsA(a.converted_customers, a.customers,
                                                           b.converted_customers, b.customers);
  result.srm_p_value = stats::SampleRatioMismatchPValue({a.customers, b.customers}, {1, 1});
  result.required_units_per_arm = stats::RequiredUnitsPerArm(
      z.rate_a, config.minimum_detectable_effect, 1 - config.confidence, config.power);
  const double needed =
      std::max(static_cast<double>(config.min_units_per_arm), result.required_units_per_arm);
  result.sample_size_reached = std::isfinite(needed) &&
                               static_cast<double>(a.customers) >= needed &&
                               static_cast<double>(b.customers) >= needed;
  // A winner only with enough units in both arms, an intact split, and always-valid evidence,
  // so that a dashboard refreshed every 15 s cannot peek its way to a false winner. The
  // always-valid p-value allows stopping early, so the fixed-horizon sample size for the
  // minimum effect is reported (sample_size_reached) but not required.
  const bool enough_units =
      a.customers >= config.min_units_per_arm && b.customers >= config.min_units_per_arm;
  const bool split_ok = result.srm_p_value >= config.srm_threshold;
  const bool significant = result.always_valid_p_value <= 1 - config.confidence;
  if (enough_units && split_ok && significant && z.difference != 0) {
    result.winner = z.difference > 0 ? b.variant : a.variant;
  }
  return result;
}

AbTestsCollector::AbTestsCollector(const StoreConfig& store, AbTestsConfig config,
                                   StoreCollectorDeps deps)
    : SqlCollector("ab_tests", store, config.interval, config.timeout, std::move(deps)),
      config_(config) {}

bool AbTestsCollector::SameConfig(const Collector& other) const {
  const auto* same = dynamic_cast<const AbTestsCollector*>(&other);
  return same != nullptr && same->config_ == config_ && same->store_config() == store_config();
}

Status AbTestsCollector::Read(SnapshotReader& reader) {
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_arms", kArmsSql, {IntervalLiteral(config_.ended_retention)});
  if (!rows.ok()) return rows.status();
  // test -> (variant_a arm, variant_b arm)
  std::map<std::string, std::pair<AbArm, AbArm>> tests;
  for (const Row& row : rows.value()) {
    if (row.size() != 12) return Status::Error("ab_tests_arms: unexpected column count");
    const std::string test = row[0].value_or("");
    AbArm arm;
    arm.variant = row[1].value_or("");
    std::vector<double> numbers;
    for (std::size_t i = 4; i < row.size(); ++i) {
      Result<double> number = ParseNumber(row[i], "ab_tests_arms");
      if (!number.ok()) return number.status();
      numbers.push_back(number.value());
    }
    arm.customers = static_cast<std::int64_t>(numbers[0]);
    arm.recommendations = static_cast<std::int64_t>(numbers[1]);
    arm.converted_customers = static_cast<std::int64_t>(numbers[2]);
    arm.purchases = static_cast<std::int64_t>(numbers[3]);
    arm.returns = static_cast<std::int64_t>(numbers[4]);
    arm.revenue = numbers[5];
    arm.satisfaction_sum = static_cast<std::int64_t>(numbers[6]);
    arm.satisfaction_count = static_cast<std::int64_t>(numbers[7]);
    auto& [a, b] = tests[test];
    if (arm.variant == row[2].value_or("")) {
      a = arm;
    } else {
      b = arm;
    }
    if (a.variant.empty()) a.variant = row[2].value_or("");
    if (b.variant.empty()) b.variant = row[3].value_or("");
  }
  std::vector<AbResult> results;
  for (const auto& [test, arms] : tests) {
    const auto previous = always_valid_.find(test);
    results.push_back(AnalyzeAbTest(test, arms.first, arms.second, config_,
                                    previous == always_valid_.end() ? 1.0 : previous->second));
    always_valid_[test] = results.back().always_valid_p_value;
  }
  results_ = std::move(results);
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> AbTestsCollector::Families() const {
  using prometheus::MetricType;
  struct ArmMetric {
    const char* name;
    const char* help;
    double (*value)(const AbArm&);
  };
  static const ArmMetric kArmMetrics[] = {
      {"outcomes_ab_customers", "Distinct customers exposed to the variant (the unit of analysis).",
       [](const AbArm& arm) { return static_cast<double>(arm.customers); }},
      {"outcomes_ab_recommendations", "Recommendations served in the variant.",
       [](const AbArm& arm) { return static_cast<double>(arm.recommendations); }},
      {"outcomes_ab_converted_customers", "Customers of the variant with at least one purchase.",
       [](const AbArm& arm) { return static_cast<double>(arm.converted_customers); }},
      {"outcomes_ab_purchases", "Recommendations of the variant that were purchased.",
       [](const AbArm& arm) { return static_cast<double>(arm.purchases); }},
      {"outcomes_ab_conversion_ratio", "Converted customers / customers of the variant.",
       [](const AbArm& arm) {
         return Ratio(static_cast<double>(arm.converted_customers),
                      static_cast<double>(arm.customers));
       }},
      {"outcomes_ab_revenue_per_customer",
       "Revenue impact (purchases minus returns) per customer of the variant.",
       [](const AbArm& arm) { return Ratio(arm.revenue, static_cast<double>(arm.customers)); }},
      {"outcomes_ab_satisfaction_mean",
       "Mean SATISFACTION feedback score in the variant (0 without feedback).",
       [](const AbArm& arm) {
         return Ratio(static_cast<double>(arm.satisfaction_sum),
                      static_cast<double>(arm.satisfaction_count));
       }},
      {"outcomes_ab_return_ratio", "Returned / purchased recommendations of the variant.",
       [](const AbArm& arm) {
         return Ratio(static_cast<double>(arm.returns), static_cast<double>(arm.purchases));
       }},
  };
  std::vector<prometheus::MetricFamily> families;
  for (const ArmMetric& metric : kArmMetrics) {
    auto family = MakeFamily(metric.name, metric.help, MetricType::Gauge);
    for (const AbResult& result : results_) {
      for (const AbArm* arm : {&result.a, &result.b}) {
        AddSample(family, {{"ab_test", result.test}, {"variant", arm->variant}},
                  metric.value(*arm));
      }
    }
    families.push_back(std::move(family));
  }
  struct TestMetric {
    const char* name;
    const char* help;
    double (*value)(const AbResult&);
  };
  static const TestMetric kTestMetrics[] = {
      {"outcomes_ab_lift_ratio", "Relative lift of variant_b's conversion over variant_a's.",
       [](const AbResult& r) { return r.lift; }},
      {"outcomes_ab_lift_ci_lower_ratio", "Lower bound of the lift's confidence interval.",
       [](const AbResult& r) { return r.lift_ci_low; }},
      {"outcomes_ab_lift_ci_upper_ratio", "Upper bound of the lift's confidence interval.",
       [](const AbResult& r) { return r.lift_ci_high; }},
      {"outcomes_ab_chance_to_win_ratio",
       "Bayesian chance that variant_b converts better than variant_a (Beta-Binomial posteriors).",
       [](const AbResult& r) { return r.probability_b_beats_a; }},
      {"outcomes_ab_srm_p_value", "Sample ratio mismatch p-value against a 50/50 split.",
       [](const AbResult& r) { return r.srm_p_value; }},
      {"outcomes_ab_required_customers_per_arm",
       "Customers per arm needed to detect the configured minimum effect (+Inf without a "
       "baseline).",
       [](const AbResult& r) { return r.required_units_per_arm; }},
      {"outcomes_ab_sample_size_reached", "1 when both arms reached the required customers.",
       [](const AbResult& r) { return r.sample_size_reached ? 1.0 : 0.0; }},
  };
  for (const TestMetric& metric : kTestMetrics) {
    auto family = MakeFamily(metric.name, metric.help, MetricType::Gauge);
    for (const AbResult& result : results_) {
      AddSample(family, {{"ab_test", result.test}}, metric.value(result));
    }
    families.push_back(std::move(family));
  }
  auto p_values = MakeFamily("outcomes_ab_p_value",
                             "p-value of the conversion difference: method=\"z_test\" fixed "
                             "horizon, method=\"msprt\" always valid (safe to watch continuously).",
                             MetricType::Gauge);
  auto winner = MakeFamily("outcomes_ab_winner",
                           "1 on the winning variant once confidence, sample size and split "
                           "allow a decision; 0 otherwise.",
                           MetricType::Gauge);
  for (const AbResult& result : results_) {
    AddSample(p_values, {{"ab_test", result.test}, {"method", "z_test"}}, result.p_value);
    AddSample(p_values, {{"ab_test", result.test}, {"method", "msprt"}},
              result.always_valid_p_value);
    for (const AbArm* arm : {&result.a, &result.b}) {
      AddSample(winner, {{"ab_test", result.test}, {"variant", arm->variant}},
                arm->variant == result.winner ? 1 : 0);
    }
  }
  families.push_back(std::move(p_values));
  families.push_back(std::move(winner));
  std::erase_if(families,
                [](const prometheus::MetricFamily& family) { return family.metric.empty(); });
  auto confidence =
      MakeFamily("outcomes_ab_confidence_level",
                 "Confidence required to declare a winner (configuration).", MetricType::Gauge);
  AddSample(confidence, {}, config_.confidence);
  families.push_back(std::move(confidence));
  return families;
}

}  // namespace outcomes
