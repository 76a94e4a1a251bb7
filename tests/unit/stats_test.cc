// Every statistic against values computed independently: published tables, closed forms, or
// Python's statistics.NormalDist / math.erfc (the command is in the comment next to each).
#include "exporter/analytics/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace outcomes::stats {
namespace {

TEST(StatsTest, NormalCdfAndQuantile) {
  // python3: NormalDist().cdf(1.96), NormalDist().inv_cdf(0.975)
  EXPECT_NEAR(NormalCdf(1.96), 0.9750021048517796, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.975), 1.9599639845400536, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.8), 0.8416212335729143, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.001), -3.090232306167813, 1e-9);
  EXPECT_NEAR(NormalQuantile(NormalCdf(-4.2)), -4.2, 1e-9);
}

TEST(StatsTest, ChiSquareMatchesPublishedCriticalValues) {
  // Standard chi-square tables: 3.841 (df 1), 16.919 (df 9), 21.666 (df 9, 99%), 30.144 (df 19).
  EXPECT_NEAR(ChiSquareSurvival(3.841458820694124, 1), 0.05, 1e-9);
  EXPECT_NEAR(ChiSquareQuantile(0.95, 9), 16.918977604620448, 1e-6);
  EXPECT_NEAR(ChiSquareQuantile(0.99, 9), 21.665994333461924, 1e-6);
  EXPECT_NEAR(ChiSquareQuantile(0.95, 19), 30.14352720564616, 1e-6);
  // df 2 has a closed form: P(X > x) = exp(-x/2).
  EXPECT_NEAR(ChiSquareSurvival(7.0, 2), std::exp(-3.5), 1e-12);
}

TEST(StatsTest, TwoProportionZTest) {
  // 200/1000 vs 250/1000. python3: pooled 0.225, z = 0.05 / sqrt(0.225*0.775*2/1000),
  // p = 2*(1 - NormalDist().cdf(z)); CI = 0.05 -+ 1.95996 * sqrt(.2*.8/1000 + .25*.75/1000).
  const ProportionTest test = TwoProportionZTest(200, 1000, 250, 1000, 0.95);
  EXPECT_DOUBLE_EQ(test.rate_a, 0.2);
  EXPECT_DOUBLE_EQ(test.rate_b, 0.25);
  EXPECT_NEAR(test.relative_lift, 0.25, 1e-12);
  EXPECT_NEAR(test.z, 2.6773977630083294, 1e-9);
  EXPECT_NEAR(test.p_value, 0.007419649261025674, 1e-9);
  EXPECT_NEAR(test.ci_low, 0.013463621687539853, 1e-9);
  EXPECT_NEAR(test.ci_high, 0.08653637831246015, 1e-9);
}

TEST(StatsTest, TwoProportionZTestWithoutDataIsInconclusive) {
  const ProportionTest test = TwoProportionZTest(0, 0, 0, 0, 0.95);
  EXPECT_EQ(test.p_value, 1);
  EXPECT_EQ(TwoProportionZTest(0, 100, 0, 100, 0.95).p_value, 1);
}

TEST(StatsTest, MsprtAlwaysValidPValue) {
  // python3: v = .2*.8/1000 + .25*.75/1000; t2 = .05**2;
  // 1 / (sqrt(v/(v+t2)) * exp(t2*.05**2/(2*v*(v+t2))))
  EXPECT_NEAR(MsprtPValue(200, 1000, 250, 1000, 0.05), 0.12167220139000691, 1e-9);
  // It is more conservative than the fixed-horizon p on the same data.
  EXPECT_GT(MsprtPValue(200, 1000, 250, 1000, 0.05),
            TwoProportionZTest(200, 1000, 250, 1000, 0.95).p_value);
  // No difference: no evidence at all.
  EXPECT_EQ(MsprtPValue(100, 1000, 100, 1000, 0.05), 1.0);
}

TEST(StatsTest, ProbabilityBBeatsAClosedForms) {
  // Beta(1,1) against Beta(2,1): P = 2/3; against Beta(1,2): 1/3; equal data: 1/2.
  EXPECT_NEAR(ProbabilityBBeatsA(0, 0, 1, 1), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(ProbabilityBBeatsA(0, 0, 0, 1), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(ProbabilityBBeatsA(37, 500, 37, 500), 0.5, 1e-9);
}

TEST(StatsTest, ProbabilityBBeatsAAgreesWithTheNormalApproximation) {
  // At large n the exact sum and the normal approximation of the Beta posteriors agree.
  const double exact = ProbabilityBBeatsA(2000, 20000, 2100, 20000);
  const double mean_a = 2001.0 / 20002.0;
  const double mean_b = 2101.0 / 20002.0;
  const double var_a = 2001.0 * 18001.0 / (20002.0 * 20002.0 * 20003.0);
  const double var_b = 2101.0 * 17901.0 / (20002.0 * 20002.0 * 20003.0);
  EXPECT_NEAR(exact, NormalCdf((mean_b - mean_a) / std::sqrt(var_a + var_b)), 2e-3);
  EXPECT_GT(exact, 0.94);
}

TEST(StatsTest, SampleRatioMismatch) {
  // 5000 vs 5200 on a 50/50 split: X2 = 2 * 100^2 / 5100; python3: math.erfc(math.sqrt(X2/2)).
  EXPECT_NEAR(SampleRatioMismatchPValue({5000, 5200}, {1, 1}), 0.04767038065616144, 1e-9);
  EXPECT_NEAR(SampleRatioMismatchPValue({5000, 5000}, {1, 1}), 1.0, 1e-12);
  // A 1:3 split observed as 1:3 is fine; as 1:1 it is broken.
  EXPECT_GT(SampleRatioMismatchPValue({250, 750}, {1, 3}), 0.99);
  EXPECT_LT(SampleRatioMismatchPValue({500, 500}, {1, 3}), 1e-6);
  EXPECT_EQ(SampleRatioMismatchPValue({0, 0}, {1, 1}), 1.0);
}

TEST(StatsTest, RequiredUnitsPerArmTextbookExample) {
  // 50% vs 60%, alpha 0.05 two-sided, power 0.8: 387.3, i.e. the classic "388 per group".
  EXPECT_NEAR(RequiredUnitsPerArm(0.5, 0.2, 0.05, 0.8), 387.34, 0.05);
  EXPECT_TRUE(std::isinf(RequiredUnitsPerArm(0.0, 0.1, 0.05, 0.8)));
}

TEST(StatsTest, PopulationStabilityIndex) {
  // Two bins, 50/50 against 60/40: 0.1*ln(1.2) + 0.1*ln(1.25) = 0.0405465.
  EXPECT_NEAR(PopulationStabilityIndex({50, 50}, {60, 40}),
              0.1 * std::log(1.2) + 0.1 * std::log(1.25), 1e-12);
  EXPECT_NEAR(PopulationStabilityIndex({10, 10, 10}, {20, 20, 20}), 0.0, 1e-12);
  // An empty current bin is floored at 1e-4 instead of making the index infinite.
  const double floored = PopulationStabilityIndex({50, 50}, {100, 0});
  EXPECT_NEAR(floored, (1 - 0.5) * std::log(1 / 0.5) + (1e-4 - 0.5) * std::log(1e-4 / 0.5), 1e-12);
}

TEST(StatsTest, PsiNoiseLevelMatchesYurdakul) {
  // chi2_0.95(9) * (1/N + 1/M): 0.338 at N = M = 100, 0.034 at 1 000 (Yurdakul 2018).
  EXPECT_NEAR(PsiNoiseLevel(10, 100, 100, 0.95), 0.33838, 1e-4);
  EXPECT_NEAR(PsiNoiseLevel(10, 1000, 1000, 0.95), 0.033838, 1e-5);
  EXPECT_NEAR(PsiNoiseLevel(20, 200, 200, 0.95), 0.3014, 1e-3);
}

}  // namespace
}  // namespace outcomes::stats
