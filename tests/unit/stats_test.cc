// Every statistic against values computed independently: published tables, closed forms,
// Python's statistics.NormalDist / math.erfc, or SciPy 1.10 (scipy.stats; the command is in
// the comment next to each value).
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

TEST(StatsTest, LiftIntervalComesFromTheLogOfTheRateRatio) {
  // Delta method on log(p_B / p_A), 200/1000 vs 250/1000 at 95%. python3 with scipy:
  // z = scipy.stats.norm.ppf(0.975); se = sqrt((1 - .2) / 200 + (1 - .25) / 250)
  // exp(log(1.25) - z * se) - 1, exp(log(1.25) + z * se) - 1
  const ProportionTest test = TwoProportionZTest(200, 1000, 250, 1000, 0.95);
  EXPECT_NEAR(test.lift_ci_low, 0.06094625083756311, 1e-9);
  EXPECT_NEAR(test.lift_ci_high, 0.47274190258600335, 1e-9);
}

TEST(StatsTest, LiftIntervalIsUndefinedWithoutConversions) {
  EXPECT_TRUE(std::isnan(TwoProportionZTest(0, 1000, 25, 1000, 0.95).lift_ci_low));
  EXPECT_TRUE(std::isnan(TwoProportionZTest(20, 1000, 0, 1000, 0.95).lift_ci_high));
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

TEST(StatsTest, DefaultMsprtTauIsTheMinimumEffectAtTheBaseRate) {
  // 10% relative at a 2% base rate: an absolute difference of 0.002.
  EXPECT_NEAR(DefaultMsprtTau(0.1, 0.02), 0.002, 1e-15);
  EXPECT_EQ(DefaultMsprtTau(0.1, 0.0), 0.0);
}

TEST(StatsTest, StudentTSurvivalMatchesScipy) {
  // python3: scipy.stats.t.sf(2.5, 7.3), t.sf(-1.2, 30), t.sf(40, 3)
  EXPECT_NEAR(StudentTSurvival(2.5, 7.3), 0.019825117332800207, 1e-12);
  EXPECT_NEAR(StudentTSurvival(-1.2, 30), 0.8802348245551688, 1e-12);
  EXPECT_NEAR(StudentTSurvival(40, 3) / 1.719034039457927e-05, 1.0, 1e-9);
}

TEST(StatsTest, WelchTTestMatchesScipy) {
  // Revenue per customer, A = [0,0,0,20,0,35,0,0,10,0] (n 10, sum 65, squares 1725),
  // B = [0,25,0,40,0,0,30,0,15,0,0,50] (n 12, sum 160, squares 5850). python3:
  // scipy.stats.ttest_ind(b, a, equal_var=False) -> t 1.0466009252961497, p 0.30837581045064977;
  // scipy.stats.sem(a), sem(b) -> 3.8042374035044424, 5.306276062981048; Welch-Satterthwaite
  // df (va + vb)**2 / (va**2 / 9 + vb**2 / 11) with va = a.var(ddof=1) / 10 -> 19.059606511275803.
  const WelchTest test = WelchTTest(10, 65, 1725, 12, 160, 5850);
  EXPECT_NEAR(test.mean_a, 6.5, 1e-12);
  EXPECT_NEAR(test.mean_b, 160.0 / 12.0, 1e-12);
  EXPECT_NEAR(test.standard_error_a, 3.8042374035044424, 1e-9);
  EXPECT_NEAR(test.standard_error_b, 5.306276062981048, 1e-9);
  EXPECT_NEAR(test.t, 1.0466009252961497, 1e-9);
  EXPECT_NEAR(test.df, 19.059606511275803, 1e-9);
  EXPECT_NEAR(test.p_value, 0.30837581045064977, 1e-9);
}

TEST(StatsTest, WelchTTestWithoutVarianceIsInconclusive) {
  EXPECT_EQ(WelchTTest(1, 5, 25, 10, 50, 400).p_value, 1.0);
  EXPECT_EQ(WelchTTest(10, 0, 0, 10, 0, 0).p_value, 1.0);
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
  // A 90/10 canary off by 100 customers. python3:
  // scipy.stats.chisquare([9100, 900], [9000, 1000]).pvalue
  EXPECT_NEAR(SampleRatioMismatchPValue({9100, 900}, {0.9, 0.1}), 0.0008581206663936758, 1e-12);
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

TEST(StatsTest, PopulationStabilityIndexFloorsOnlyEmptyBins) {
  // A share of 1/20000 = 5e-5 is used as it is, as Evidently does (only zeros become 1e-4).
  // python3: c = [19999/20000, 1/20000]; sum((c_i - .5) * log(c_i / .5)) = 4.951223603765478
  EXPECT_NEAR(PopulationStabilityIndex({50, 50}, {19999, 1}), 4.951223603765478, 1e-12);
}

TEST(StatsTest, PsiNoiseLevelChiSquareMatchesYurdakul) {
  // chi2_0.95(9) * (1/N + 1/M): 0.338 at N = M = 100, 0.034 at 1 000 (Yurdakul 2018).
  EXPECT_NEAR(PsiNoiseLevelChiSquare(10, 100, 100, 0.95), 0.33838, 1e-4);
  EXPECT_NEAR(PsiNoiseLevelChiSquare(10, 1000, 1000, 0.95), 0.033838, 1e-5);
  EXPECT_NEAR(PsiNoiseLevelChiSquare(20, 200, 200, 0.95), 0.3014, 1e-3);
}

// The 95th percentile of the PSI under no drift from a direct simulation that draws the scores
// themselves (numpy 1.24): n and m uniforms, cuts numpy.percentile(ref, k * 100 / bins,
// method='linear') as percentile_cont does, bins numpy.searchsorted(cuts, x, side='right') as
// width_bucket does, zero shares set to 1e-4, quantile 0.95 of 200 000 replicates (100 000
// for 20 bins, 20 000 for n = 100 000). Tolerance: the Monte Carlo error of both sides, ~1%.
TEST(StatsTest, PsiNoiseLevelMatchesDirectSimulationForSmallWindows) {
  // At N = 300, M = 60 the chi-square approximation says 0.338; simulation: 0.41583.
  EXPECT_NEAR(PsiNoiseLevel(10, 300, 60, 0.95), 0.41583, 0.41583 * 0.03);
  // N = M = 100: approximation 0.338, simulation 0.36729.
  EXPECT_NEAR(PsiNoiseLevel(10, 100, 100, 0.95), 0.36729, 0.36729 * 0.03);
  // N = 100 000, M = 40 (four scores a bin): approximation 0.0169, simulation 0.92994.
  EXPECT_NEAR(PsiNoiseLevel(10, 100000, 40, 0.95), 0.92994, 0.92994 * 0.03);
}

TEST(StatsTest, PsiNoiseLevelMatchesDirectSimulationForWellFilledBins) {
  // 20 bins, N = M = 2000 (100 a bin): simulation 0.030213, approximation 0.030144.
  EXPECT_NEAR(PsiNoiseLevel(20, 2000, 2000, 0.95), 0.030213, 0.030213 * 0.01);
  // Just below 100 a bin the simulation itself runs, and agrees as well (1/N + 1/M is 0.5%
  // larger at M = 1980, well inside the tolerance).
  EXPECT_NEAR(PsiNoiseLevel(20, 2000, 1980, 0.95), 0.030213, 0.030213 * 0.03);
}

TEST(StatsTest, PsiNoiseLevelIsDeterministic) {
  EXPECT_EQ(PsiNoiseLevel(10, 5000, 70, 0.95), PsiNoiseLevel(10, 5000, 70, 0.95));
}

}  // namespace
}  // namespace outcomes::stats
