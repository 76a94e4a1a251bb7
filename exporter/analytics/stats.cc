#include "exporter/analytics/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace outcomes::stats {
namespace {

// std::lgamma writes the global signgam: a data race between collector threads. lgamma_r does not.
double LogGamma(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}

constexpr double kPi = 3.14159265358979323846;

// Regularized lower incomplete gamma P(a, x) by series, and upper Q(a, x) by continued
// fraction (Numerical Recipes, 3rd ed., 6.2).
double GammaPSeries(double a, double x) {
  double sum = 1.0 / a;
  double term = sum;
  for (int n = 1; n < 1000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
  }
  return sum * std::exp(-x + a * std::log(x) - LogGamma(a));
}

double GammaQContinuedFraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-15) break;
  }
  return std::exp(-x + a * std::log(x) - LogGamma(a)) * h;
}

double LogBeta(double a, double b) { return LogGamma(a) + LogGamma(b) - LogGamma(a + b); }

}  // namespace

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double NormalQuantile(double p) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  // Acklam's coefficients.
  static constexpr double kA[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                  -2.759285104469687e+02, 1.383577518672690e+02,
                                  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double kB[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                  -1.556989798598866e+02, 6.680131188771972e+01,
                                  -1.328068155288572e+01};
  static constexpr double kC[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                  -2.400758277161838e+00, -2.549732539343734e+00,
                                  4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double kD[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                  2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x = 0;
  if (p < kLow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q + kC[5]) /
        ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1);
  } else if (p <= 1 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((kA[0] * r + kA[1]) * r + kA[2]) * r + kA[3]) * r + kA[4]) * r + kA[5]) * q /
        (((((kB[0] * r + kB[1]) * r + kB[2]) * r + kB[3]) * r + kB[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q + kC[5]) /
        ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1);
  }
  // One Halley step against the exact CDF.
  const double e = NormalCdf(x) - p;
  const double u = e * std::sqrt(2 * kPi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double ChiSquareSurvival(double x, double df) {
  if (x <= 0) return 1.0;
  const double a = df / 2.0;
  const double half_x = x / 2.0;
  if (half_x < a + 1.0) return 1.0 - GammaPSeries(a, half_x);
  return GammaQContinuedFraction(a, half_x);
}

double ChiSquareQuantile(double probability, double df) {
  // Bisection on the survival function: monotone, and precision to 1e-10 is plenty here.
  double low = 0;
  double high = std::max(1.0, df);
  while (ChiSquareSurvival(high, df) > 1 - probability) high *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (low + high) / 2;
    if (ChiSquareSurvival(mid, df) > 1 - probability) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return (low + high) / 2;
}

ProportionTest TwoProportionZTest(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b,
                                  std::int64_t n_b, double confidence) {
  ProportionTest test;
  if (n_a <= 0 || n_b <= 0) return test;
  const auto na = static_cast<double>(n_a);
  const auto nb = static_cast<double>(n_b);
  test.rate_a = static_cast<double>(x_a) / na;
  test.rate_b = static_cast<double>(x_b) / nb;
  test.difference = test.rate_b - test.rate_a;
  test.relative_lift = test.rate_a > 0 ? test.difference / test.rate_a : 0;
  const auto pooled = static_cast<double>(x_a + x_b) / (na + nb);
  const double pooled_se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  test.z = pooled_se > 0 ? test.difference / pooled_se : 0;
  test.p_value = pooled_se > 0 ? 2 * (1 - NormalCdf(std::fabs(test.z))) : 1;
  const double se =
      std::sqrt(test.rate_a * (1 - test.rate_a) / na + test.rate_b * (1 - test.rate_b) / nb);
  const double half_width = NormalQuantile(1 - (1 - confidence) / 2) * se;
  test.ci_low = test.difference - half_width;
  test.ci_high = test.difference + half_width;
  return test;
}

double MsprtPValue(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b, std::int64_t n_b,
                   double tau) {
  if (n_a <= 0 || n_b <= 0 || tau <= 0) return 1.0;
  const auto pa = static_cast<double>(x_a) / static_cast<double>(n_a);
  const auto pb = static_cast<double>(x_b) / static_cast<double>(n_b);
  const double v =
      pa * (1 - pa) / static_cast<double>(n_a) + pb * (1 - pb) / static_cast<double>(n_b);
  if (v <= 0) return 1.0;
  const double tau2 = tau * tau;
  const double theta = pb - pa;
  const double log_lambda =
      0.5 * std::log(v / (v + tau2)) + tau2 * theta * theta / (2 * v * (v + tau2));
  return std::min(1.0, std::exp(-log_lambda));
}

double ProbabilityBBeatsA(std::int64_t x_a, std::int64_t n_a, std::int64_t x_b, std::int64_t n_b) {
  const double alpha_a = 1.0 + static_cast<double>(x_a);
  const double beta_a = 1.0 + static_cast<double>(n_a - x_a);
  const double alpha_b = 1.0 + static_cast<double>(x_b);
  const double beta_b = 1.0 + static_cast<double>(n_b - x_b);
  if (x_b > 100'000) {
    const auto mean = [](double a, double b) { return a / (a + b); };
    const auto variance = [](double a, double b) {
      return a * b / ((a + b) * (a + b) * (a + b + 1));
    };
    return NormalCdf((mean(alpha_b, beta_b) - mean(alpha_a, beta_a)) /
                     std::sqrt(variance(alpha_a, beta_a) + variance(alpha_b, beta_b)));
  }
  double total = 0;
  const double log_beta_a = LogBeta(alpha_a, beta_a);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(alpha_b); ++i) {
    const auto k = static_cast<double>(i);
    total += std::exp(LogBeta(alpha_a + k, beta_a + beta_b) - std::log(beta_b + k) -
                      LogBeta(1 + k, beta_b) - log_beta_a);
  }
  return std::clamp(total, 0.0, 1.0);
}

double SampleRatioMismatchPValue(const std::vector<std::int64_t>& observed,
                                 const std::vector<double>& weights) {
  double total = 0;
  double weight_sum = 0;
  int arms = 0;
  for (std::size_t i = 0; i < observed.size() && i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    total += static_cast<double>(observed[i]);
    weight_sum += weights[i];
    ++arms;
  }
  if (arms < 2 || total <= 0) return 1.0;
  double chi2 = 0;
  for (std::size_t i = 0; i < observed.size() && i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    const double expected = weights[i] / weight_sum * total;
    const auto diff = static_cast<double>(observed[i]) - expected;
    chi2 += diff * diff / expected;
  }
  return ChiSquareSurvival(chi2, arms - 1);
}

double RequiredUnitsPerArm(double baseline, double relative_mde, double alpha, double power) {
  const double p1 = baseline;
  const double p2 = baseline * (1 + relative_mde);
  if (p1 <= 0 || p1 >= 1 || p2 <= 0 || p2 >= 1 || p1 == p2) return INFINITY;
  const double mean = (p1 + p2) / 2;
  const double numerator = NormalQuantile(1 - alpha / 2) * std::sqrt(2 * mean * (1 - mean)) +
                           NormalQuantile(power) * std::sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return numerator * numerator / ((p2 - p1) * (p2 - p1));
}

double PopulationStabilityIndex(const std::vector<std::int64_t>& reference,
                                const std::vector<std::int64_t>& current, double floor) {
  const auto n =
      static_cast<double>(std::accumulate(reference.begin(), reference.end(), std::int64_t{0}));
  const auto m =
      static_cast<double>(std::accumulate(current.begin(), current.end(), std::int64_t{0}));
  if (n <= 0 || m <= 0) return 0;
  double psi = 0;
  for (std::size_t i = 0; i < reference.size() && i < current.size(); ++i) {
    const double r = std::max(static_cast<double>(reference[i]) / n, floor);
    const double c = std::max(static_cast<double>(current[i]) / m, floor);
    psi += (c - r) * std::log(c / r);
  }
  return psi;
}

double PsiNoiseLevel(int bins, std::int64_t n, std::int64_t m, double confidence) {
  if (n <= 0 || m <= 0 || bins < 2) return INFINITY;
  return ChiSquareQuantile(confidence, bins - 1) *
         (1.0 / static_cast<double>(n) + 1.0 / static_cast<double>(m));
}

}  // namespace outcomes::stats
