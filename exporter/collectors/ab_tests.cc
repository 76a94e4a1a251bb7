#include "exporter/collectors/ab_tests.h"

#include <cmath>

#include "exporter/analytics/stats.h"
#include "exporter/collectors/ab_aggregates.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

// Whether ab_tests has the optional traffic_share_b column, resolved through the search_path
// exactly as the arms query resolves the table. Asked every cycle (a catalog lookup), so a
// store that gains or loses the column needs no restart.
std::string SplitColumnSql(const SchemaSql& sql) {
  const std::string& column = sql.schema().tables.at("ab_tests").columns.at("traffic_share_b");
  return "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass(" +
         QuoteLiteral(sql.Table("ab_tests")) + ") AND attname = " + QuoteLiteral(column) +
         " AND NOT attisdropped";
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

AbTestsCollector::AbTestsCollector(const StoreConfig& store, const AbTestsConfig& config,
                                   const StoreCollectorDeps& deps)
    : WithSettings(config, "ab_tests", store, config.interval, config.timeout, deps),
      now_(deps.now),
      sql_(store.schema),
      aggregates_(sql_, config.max_tracked_customers) {}

namespace {

Result<std::vector<AbTestDefinition>> ReadTests(SnapshotReader& reader, bool has_split_column,
                                                const std::string& retention,
                                                const SchemaSql& sql) {
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_list", ab_sql::Tests(has_split_column, sql), {retention});
  if (!rows.ok()) return rows.status();
  std::vector<AbTestDefinition> tests;
  for (const Row& row : rows.value()) {
    if (row.size() != 4) return Status::Error("ab_tests_list: unexpected column count");
    AbTestDefinition test{row[0].value_or(""), row[1].value_or(""), row[2].value_or(""), {}};
    if (row[3].has_value()) {
      Result<double> share = ParseNumber(row[3], "ab_tests_list");
      if (!share.ok()) return share.status();
      test.traffic_share_b = share.value();
    }
    tests.push_back(std::move(test));
  }
  return tests;
}

AbArm ToArm(const std::string& variant, const AbSums& sums) {
  AbArm arm;
  arm.variant = variant;
  arm.customers = sums.customers;
  arm.recommendations = sums.recommendations;
  arm.converted_customers = sums.converted_customers;
  arm.purchases = sums.purchases;
  arm.returns = sums.returns;
  arm.revenue = CentsToUnits(sums.revenue_cents);
  arm.revenue_squares = SquareCentsToUnits(sums.revenue_squares_cents);
  arm.satisfaction_sum = sums.satisfaction_sum;
  arm.satisfaction_count = sums.satisfaction_count;
  return arm;
}

}  // namespace

Status AbTestsCollector::Read(SnapshotReader& reader) {
  Result<std::vector<Row>> split_column =
      reader.Query("ab_tests_split_column", SplitColumnSql(sql_), {});
  if (!split_column.ok()) return split_column.status();
  const bool has_split_column = !split_column.value().empty() &&
                                split_column.value()[0].size() == 1 &&
                                split_column.value()[0][0].value_or("0") != "0";
  const std::string retention = IntervalLiteral(config_.ended_retention);
  Result<std::vector<AbTestDefinition>> tests =
      ReadTests(reader, has_split_column, retention, sql_);
  if (!tests.ok()) return tests.status();
  const SteadyTime now = now_();
  const bool was_initialized = aggregates_.initialized();
  const AbSweepPace pace{config_.interval, store_config().reconcile_interval,
                         static_cast<std::size_t>(store_config().sweep_ranges_per_cycle)};
  Result<AbAdvance> advance =
      aggregates_.Advance(reader, tests.value(), has_split_column, pace, retention, now);
  if (!advance.ok()) return advance.status();
  if (was_initialized && advance.value().counted_from_scratch) {
    log().Warn(
        "a table went back below the ids counted (older backup restored?); the A/B aggregates "
        "are counted again from what the store holds now",
        {{"collector", name()}});
  }
  LogCorrections(log(), name(), advance.value().corrections);
  if (advance.value().customers_evicted > 0) {
    log().Info(
        "A/B customer state past analytics.ab_tests.max_tracked_customers; the least "
        "recently active customers are evicted and read back by index when they return",
        {{"collector", name()},
         {"evicted", std::to_string(advance.value().customers_evicted)},
         {"held", std::to_string(aggregates_.customers().size())}});
  }
  const std::int64_t given_up = aggregates_.ExpireGaps(now, store_config().late_commit_window);
  if (given_up > 0) {
    log().Warn("too many missing id ranges to sweep; the oldest are no longer re-checked",
               {{"collector", name()}, {"ids", std::to_string(given_up)}});
  }

  std::vector<AbResult> results;
  for (const AbTestDefinition& test : tests.value()) {
    const auto sums = aggregates_.tests().find(test.test);
    // As the full-window statement, which has no row for a test without customers.
    if (sums == aggregates_.tests().end() ||
        sums->second.a.customers + sums->second.b.customers == 0) {
      continue;
    }
    const double share = test.traffic_share_b.value_or(0.5);
    if (!(share > 0 && share < 1)) {
      log().Warn("ab_tests.traffic_share_b must be between 0 and 1; the split cannot be checked",
                 {{"collector", name()},
                  {"ab_test", test.test},
                  {"traffic_share_b", std::to_string(share)}});
    }
    const auto previous = always_valid_.find(test.test);
    results.push_back(AnalyzeAbTest(
        test.test, ToArm(test.variant_a, sums->second.a), ToArm(test.variant_b, sums->second.b),
        config_, previous == always_valid_.end() ? AlwaysValidEvidence{} : previous->second,
        share));
    always_valid_[test.test] = results.back().evidence;
  }
  results_ = std::move(results);
  return Status::Ok();
}

namespace {

// The per-variant gauges, one sample per arm of every test.
struct ArmMetric {
  const char* name;
  const char* help;
  double (*value)(const AbArm&);
};
constexpr ArmMetric kArmMetrics[] = {
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

void AddArmFamilies(const std::vector<AbResult>& results,
                    std::vector<prometheus::MetricFamily>& families) {
  for (const ArmMetric& metric : kArmMetrics) {
    auto family = MakeFamily(metric.name, metric.help, prometheus::MetricType::Gauge);
    for (const AbResult& result : results) {
      for (const AbArm* arm : {&result.a, &result.b}) {
        AddSample(family, {{"ab_test", result.test}, {"variant", arm->variant}},
                  metric.value(*arm));
      }
    }
    families.push_back(std::move(family));
  }
}

// The per-test gauges, one sample per test.
struct TestMetric {
  const char* name;
  const char* help;
  double (*value)(const AbResult&);
};
constexpr TestMetric kTestMetrics[] = {
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

void AddTestFamilies(const std::vector<AbResult>& results,
                     std::vector<prometheus::MetricFamily>& families) {
  for (const TestMetric& metric : kTestMetrics) {
    auto family = MakeFamily(metric.name, metric.help, prometheus::MetricType::Gauge);
    for (const AbResult& result : results) {
      AddSample(family, {{"ab_test", result.test}}, metric.value(result));
    }
    families.push_back(std::move(family));
  }
}

// The gauges with a second label besides the test: the standard errors and winner per
// variant, the p-values per method.
void AddLabelledFamilies(const std::vector<AbResult>& results,
                         std::vector<prometheus::MetricFamily>& families) {
  using prometheus::MetricType;
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
  for (const AbResult& result : results) {
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
}

}  // namespace

std::vector<prometheus::MetricFamily> AbTestsCollector::Families() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  AddArmFamilies(results_, families);
  AddTestFamilies(results_, families);
  AddLabelledFamilies(results_, families);
  std::erase_if(families,
                [](const prometheus::MetricFamily& family) { return family.metric.empty(); });
  auto confidence =
      MakeFamily("outcomes_ab_confidence_level",
                 "Confidence required to declare a winner (configuration).", MetricType::Gauge);
  AddSample(confidence, {}, config_.confidence);
  families.push_back(std::move(confidence));
  return families;
}

void AddAbTestsCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (!config.store || !config.analytics || !config.analytics->ab_tests) return;
  out.Add(std::make_shared<AbTestsCollector>(*config.store, *config.analytics->ab_tests,
                                             StoreDeps(context)));
}

}  // namespace outcomes
