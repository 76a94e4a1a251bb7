#include "exporter/collectors/ab_tests.h"

#include <cmath>

#include "exporter/analytics/stats.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

// Whether ab_tests has the optional traffic_share_b column, resolved through the search_path
// exactly as the arms query resolves the table. Asked every cycle (a catalog lookup), so a
// store that gains or loses the column needs no restart.
constexpr const char* kSplitColumnSql = R"SQL(
SELECT count(*) FROM pg_attribute
WHERE attrelid = to_regclass('ab_tests') AND attname = 'traffic_share_b' AND NOT attisdropped
)SQL";

// One row per (test, variant) with the per-customer sums; only the two variants of each test.
// `{share}` is the intended share of B: the column, or NULL (50/50) on a store without it.
constexpr const char* kArmsSql = R"SQL(
WITH tests AS (
  SELECT test_id, variant_a, variant_b, {share}::float8 AS traffic_share_b FROM ab_tests
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
SELECT c.ab_test_id, c.variant, t.variant_a, t.variant_b, t.traffic_share_b,
       count(*), sum(c.recommendations), count(*) FILTER (WHERE c.converted),
       sum(c.purchases), sum(c.returns), sum(c.revenue)::float8,
       sum(c.score_sum), sum(c.score_count), sum(c.revenue * c.revenue)::float8
FROM customers c JOIN tests t ON t.test_id = c.ab_test_id
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2
)SQL";

constexpr std::size_t kArmsColumns = 14;

std::string ArmsSql(bool has_split_column) {
  std::string sql = kArmsSql;
  const std::string placeholder = "{share}";
  sql.replace(sql.find(placeholder), placeholder.size(),
              has_split_column ? "traffic_share_b" : "NULL");
  return sql;
}

// The always-valid evidence after this look: a stronger look replaces the earlier one with its
// own direction; a weaker one, whatever its direction, changes nothing.
AlwaysValidEvidence NextEvidence(const AlwaysValidEvidence& previous, double p_value,
                                 double difference) {
  if (p_value >= previous.p_value) return previous;
  return AlwaysValidEvidence{p_value, difference > 0 ? 1 : (difference < 0 ? -1 : 0)};
}

std::string IntervalLiteral(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " seconds";
}

double Ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0;
}

}  // namespace

AbResult AnalyzeAbTest(const std::string& test, const AbArm& a, const AbArm& b,
                       const AbTestsConfig& config, const AlwaysValidEvidence& previous,
                       double traffic_share_b) {
  AbResult result;
  result.test = test;
  result.a = a;
  result.b = b;
  result.traffic_share_b = traffic_share_b;
  const stats::ProportionTest z = stats::TwoProportionZTest(
      a.converted_customers, a.customers, b.converted_customers, b.customers, config.confidence);
  result.lift = z.relative_lift;
  result.lift_ci_low = z.lift_ci_low;
  result.lift_ci_high = z.lift_ci_high;
  result.p_value = z.p_value;
  result.msprt_tau =
      config.msprt_tau.value_or(stats::DefaultMsprtTau(config.minimum_detectable_effect, z.rate_a));
  result.evidence =
      NextEvidence(previous,
                   stats::MsprtPValue(a.converted_customers, a.customers, b.converted_customers,
                                      b.customers, result.msprt_tau),
                   z.difference);
  result.always_valid_p_value = result.evidence.p_value;
  result.probability_b_beats_a = stats::ProbabilityBBeatsA(a.converted_customers, a.customers,
                                                           b.converted_customers, b.customers);
  // An intended split outside (0, 1) cannot be checked: report it as broken, so that no winner
  // is declared and AbTestSampleRatioMismatch points at the test.
  const bool split_known = traffic_share_b > 0 && traffic_share_b < 1;
  result.srm_p_value = split_known
                           ? stats::SampleRatioMismatchPValue(
                                 {a.customers, b.customers}, {1 - traffic_share_b, traffic_share_b})
                           : 0.0;
  const stats::WelchTest revenue = stats::WelchTTest(a.customers, a.revenue, a.revenue_squares,
                                                     b.customers, b.revenue, b.revenue_squares);
  result.revenue_se_a = revenue.standard_error_a;
  result.revenue_se_b = revenue.standard_error_b;
  result.revenue_p_value = revenue.p_value;
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
  // minimum effect is reported (sample_size_reached) but not required. The winner is the arm
  // the strongest evidence favoured, not the arm ahead right now.
  const bool enough_units =
      a.customers >= config.min_units_per_arm && b.customers >= config.min_units_per_arm;
  const bool split_ok = result.srm_p_value >= config.srm_threshold;
  const bool significant = result.evidence.p_value <= 1 - config.confidence;
  if (enough_units && split_ok && significant && result.evidence.direction != 0) {
    result.winner = result.evidence.direction > 0 ? b.variant : a.variant;
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
  Result<std::vector<Row>> split_column =
      reader.Query("ab_tests_split_column", kSplitColumnSql, {});
  if (!split_column.ok()) return split_column.status();
  const bool has_split_column = !split_column.value().empty() &&
                                split_column.value()[0].size() == 1 &&
                                split_column.value()[0][0].value_or("0") != "0";
  Result<std::vector<Row>> rows = reader.Query("ab_tests_arms", ArmsSql(has_split_column),
                                               {IntervalLiteral(config_.ended_retention)});
  if (!rows.ok()) return rows.status();
  // test -> (variant_a arm, variant_b arm), and its intended share of B
  std::map<std::string, std::pair<AbArm, AbArm>> tests;
  std::map<std::string, double> shares;
  for (const Row& row : rows.value()) {
    if (row.size() != kArmsColumns) return Status::Error("ab_tests_arms: unexpected column count");
    const std::string test = row[0].value_or("");
    if (row[4].has_value()) {
      Result<double> share = ParseNumber(row[4], "ab_tests_arms");
      if (!share.ok()) return share.status();
      shares[test] = share.value();
    } else {
      shares[test] = 0.5;
    }
    AbArm arm;
    arm.variant = row[1].value_or("");
    std::vector<double> numbers;
    for (std::size_t i = 5; i < row.size(); ++i) {
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
    arm.revenue_squares = numbers[8];
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
    const double share = shares[test];
    if (!(share > 0 && share < 1)) {
      log().Warn(
          "ab_tests.traffic_share_b must be between 0 and 1; the split cannot be checked",
          {{"collector", name()}, {"ab_test", test}, {"traffic_share_b", std::to_string(share)}});
    }
    const auto previous = always_valid_.find(test);
    results.push_back(AnalyzeAbTest(
        test, arms.first, arms.second, config_,
        previous == always_valid_.end() ? AlwaysValidEvidence{} : previous->second, share));
    always_valid_[test] = results.back().evidence;
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
      {"outcomes_ab_srm_p_value",
       "Sample ratio mismatch p-value against the test's intended split (traffic_share_b, "
       "default 50/50).",
       [](const AbResult& r) { return r.srm_p_value; }},
      {"outcomes_ab_traffic_share_ratio",
       "Intended share of customers in variant_b (ab_tests.traffic_share_b; 0.5 without it).",
       [](const AbResult& r) { return r.traffic_share_b; }},
      {"outcomes_ab_revenue_p_value",
       "Welch t-test p-value (two-sided) of revenue per customer, variant_b against variant_a.",
       [](const AbResult& r) { return r.revenue_p_value; }},
      {"outcomes_ab_msprt_tau",
       "Mixing standard deviation of the mSPRT: msprt_tau, or minimum_detectable_effect times "
       "variant_a's conversion.",
       [](const AbResult& r) { return r.msprt_tau; }},
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
  auto revenue_se =
      MakeFamily("outcomes_ab_revenue_per_customer_standard_error",
                 "Standard error of the variant's revenue per customer.", MetricType::Gauge);
  for (const AbResult& result : results_) {
    AddSample(revenue_se, {{"ab_test", result.test}, {"variant", result.a.variant}},
              result.revenue_se_a);
    AddSample(revenue_se, {{"ab_test", result.test}, {"variant", result.b.variant}},
              result.revenue_se_b);
    AddSample(p_values, {{"ab_test", result.test}, {"method", "z_test"}}, result.p_value);
    AddSample(p_values, {{"ab_test", result.test}, {"method", "msprt"}},
              result.always_valid_p_value);
    for (const AbArm* arm : {&result.a, &result.b}) {
      AddSample(winner, {{"ab_test", result.test}, {"variant", arm->variant}},
                arm->variant == result.winner ? 1 : 0);
    }
  }
  families.push_back(std::move(revenue_se));
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
