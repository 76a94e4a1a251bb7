// Statistics for A/B tests and prediction drift. Pure functions, thread-safe. Formulas and
// their sources are in docs/METRICS.md; unit tests check each against published values.
#pragma once

#include <cstdint>
#include <vector>

namespace outcomes::stats {

// Standard normal CDF and its inverse (Acklam's rational approximation refined by one Halley
// step; |error| < 1e-12 on (0, 1)).
double NormalCdf(double z);
double NormalQuantile(double p);

// Upper tail of the chi-square distribution, P(X > x) for `df` degrees of freedom (regularized
// upper incomplete gamma function).
double ChiSquareSurvival(double x, double df);

// Two-proportion comparison of B against A on conversions x out of units n.
struct ProportionTest {
  double rate_a = 0;
  double rate_b = 0;
  double difference = 0;     // rate_b - rate_a
  double relative_lift = 0;  // difference / rate_a (0 when rate_a is 0)
  double z = 0;              // pooled z statistic
  double p_value = 1;        // two-sided, fixed horizon
  double ci_low = 0;         // unpooled CI of the difference at `confidence`
  double ci_high = 0;
  // CI of relative_lift at `confidence` from the log of the rate ratio (delta method), which
  // carries the uncertainty of rate_a too; NaN while either arm has no conversion.
  double lift_ci_low = 0;
  double lift_ci_high = 0;
};
ProportionTest TwoProportionZTest(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b,
                                  std::int64_t n_b, double confidence);

// Always-valid p-value of the mixture SPRT (Johari, Pekelis & Walsh) for a difference of
// proportions with a N(0, tau^2) mixing prior: 1/Lambda, capped at 1. A caller keeping the
// running minimum over time gets the monotone sequential p-value.
double MsprtPValue(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b, std::int64_t n_b,
                   double tau);

// The default mixing standard deviation of the mSPRT: the absolute difference that the minimum
// detectable effect means at the observed base rate, tau = relative_mde * base_rate, so that
// the prior's scale matches the effect the test is sized for.
double DefaultMsprtTau(double relative_mde, double base_rate);

// Upper tail of Student's t distribution, P(T > t) for `df` degrees of freedom (regularized
// incomplete beta function).
double StudentTSurvival(double t, double df);

// Welch's unequal-variance t-test of mean(B) - mean(A) from per-arm count, sum and sum of
// squares of a per-unit value (revenue per customer).
struct WelchTest {
  double mean_a = 0;
  double mean_b = 0;
  double standard_error_a = 0;  // of the mean; 0 with fewer than 2 units
  double standard_error_b = 0;
  double t = 0;
  double df = 0;       // Welch-Satterthwaite degrees of freedom
  double p_value = 1;  // two-sided; 1 while either arm has fewer than 2 units or no variance
};
WelchTest WelchTTest(std::int64_t n_a, double sum_a, double sum_squares_a, std::int64_t n_b,
                     double sum_b, double sum_squares_b);

// P(p_B > p_A) under independent Beta(1 + x, 1 + n - x) posteriors (Evan Miller's exact sum;
// the normal approximation above 100 000 conversions in B).
double ProbabilityBBeatsA(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b, std::int64_t n_b);

// Sample ratio mismatch: chi-square goodness of fit of observed units against the expected
// split (weights). Returns the p-value; 1 when fewer than two arms have weight.
double SampleRatioMismatchPValue(const std::vector<std::int64_t>& observed,
                                 const std::vector<double>& weights);

// Units per arm for a two-sided test at `alpha` with `power` to detect a change from
// `baseline` to baseline * (1 + relative_mde).
double RequiredUnitsPerArm(double baseline, double relative_mde, double alpha, double power);

// Population stability index between bin counts of the reference and the current window;
// shares of exactly 0 are replaced by `floor` (1e-4, as Evidently does) so the index stays
// finite; every other share is used as it is.
double PopulationStabilityIndex(const std::vector<std::int64_t>& reference,
                                const std::vector<std::int64_t>& current, double floor = 1e-4);

// The PSI that sampling noise alone exceeds with probability 1 - confidence, for `bins`
// equal-frequency bins cut on a reference of n scores and a current window of m scores drawn
// from the same continuous distribution, with PopulationStabilityIndex's floor. Computed by a
// deterministic simulation (fixed seed, `replicates` draws): the chi-square approximation of
// Yurdakul (2018), chi2_confidence(bins - 1) * (1/n + 1/m), ignores the floored empty bins
// and is far too low when m / bins is small. Cost: O(bins * replicates), whatever n and m;
// none when both windows have 100 scores a bin or more, where the approximation is used.
double PsiNoiseLevel(int bins, std::int64_t n, std::int64_t m, double confidence,
                     int replicates = 20000);

// The chi-square approximation above, valid when every bin expects many scores.
double PsiNoiseLevelChiSquare(int bins, std::int64_t n, std::int64_t m, double confidence);

// Inverse of ChiSquareSurvival in x: the (1 - p) quantile.
double ChiSquareQuantile(double probability, double df);

}  // namespace outcomes::stats
