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
};
ProportionTest TwoProportionZTest(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b,
                                  std::int64_t n_b, double confidence);

// Always-valid p-value of the mixture SPRT (Johari, Pekelis & Walsh) for a difference of
// proportions with a N(0, tau^2) mixing prior: 1/Lambda, capped at 1. A caller keeping the
// running minimum over time gets the monotone sequential p-value.
double MsprtPValue(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b, std::int64_t n_b,
                   double tau);

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
// shares of 0 are floored to `floor` (1e-4 as Evidently does) so the index stays finite.
double PopulationStabilityIndex(const std::vector<std::int64_t>& reference,
                                const std::vector<std::int64_t>& current, double floor = 1e-4);

// The PSI that sampling noise alone exceeds with probability 1 - confidence, for `bins` bins
// and samples of n and m (Yurdakul 2018: PSI / (1/n + 1/m) ~ chi-square(bins - 1)).
double PsiNoiseLevel(int bins, std::int64_t n, std::int64_t m, double confidence);

// Inverse of ChiSquareSurvival in x: the (1 - p) quantile.
double ChiSquareQuantile(double probability, double df);

}  // namespace outcomes::stats
