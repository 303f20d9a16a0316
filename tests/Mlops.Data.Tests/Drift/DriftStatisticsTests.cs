using Mlops.Data.Drift;
using Xunit;

namespace Mlops.Data.Tests.Drift;

/// <summary>Known answers computed with scipy 1.10 (values in comments are the scipy calls).</summary>
public class DriftStatisticsTests
{
    // numpy default_rng(1): normal(0,1,20) and normal(0.5,1.2,30), rounded to 3 decimals.
    private static readonly double[] A =
    [
        0.346,
        0.822,
        0.33,
        -1.303,
        0.905,
        0.446,
        -0.537,
        0.581,
        0.365,
        0.294,
        0.028,
        0.547,
        -0.736,
        -0.163,
        -0.482,
        0.599,
        0.04,
        -0.292,
        -0.782,
        -0.257,
    ];
    private static readonly double[] B =
    [
        0.51,
        0.169,
        2.053,
        1.708,
        -2.753,
        -1.767,
        0.29,
        -0.007,
        0.756,
        0.761,
        3.041,
        -0.834,
        0.047,
        2.951,
        1.276,
        1.296,
        -0.117,
        -1.478,
        0.701,
        0.631,
        -0.973,
        -0.32,
        0.414,
        -0.634,
        0.382,
        0.615,
        0.543,
        -0.108,
        1.212,
        1.569,
    ];

    [Fact]
    public void Detector_BinaryReferenceThenNewValue_FallsBackToChiSquareInsteadOfThrowing()
    {
        // Found by the malformed-CSV corpus: {0,1} then {5} has at most two values per side but three together.
        var reference = Mlops.Data.Tabular.Column.Numeric("y", [0, 1, 0, 1, 0, 1]);
        var current = Mlops.Data.Tabular.Column.Numeric("y", [5]);
        var o = Mlops.Data.Validation.ValidationOptions.Default;
        var r = Mlops.Data.Drift.DriftDetector.Compute(reference, current, o.Drift.For("y"), o)!;
        Assert.Equal(Mlops.Data.Validation.DriftMethod.ChiSquare, r.Method);
    }

    [Fact]
    public void KolmogorovSmirnov_SmallSamples_MatchesScipyExact()
    {
        // stats.ks_2samp(A, B) -> (0.3333333333333333, 0.11901288467516954)
        var r = DriftStatistics.KolmogorovSmirnov(A, B);
        Assert.Equal(1.0 / 3, r.Statistic, 12);
        Assert.Equal(0.11901288467516954, r.PValue!.Value, 9);
    }

    [Fact]
    public void KolmogorovSmirnov_Ties_MatchesScipy()
    {
        // stats.ks_2samp([1,2,2,3,3,3,4,5], [2,3,4,4,5,5,6,7,8,9]) -> (0.55, 0.09511403629050688)
        var r = DriftStatistics.KolmogorovSmirnov([1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 4, 4, 5, 5, 6, 7, 8, 9]);
        Assert.Equal(0.55, r.Statistic, 12);
        Assert.Equal(0.09511403629050688, r.PValue!.Value, 9);
    }

    [Fact]
    public void KolmogorovSmirnov_MediumSamples_MatchesScipyExact()
    {
        // x = sin(0.7 i)*2, i<1000; y = cos(0.3 j)*2 + 0.1, j<1500 -> (0.10133333333333333, 8.352428217568424e-06)
        var x = Enumerable.Range(0, 1000).Select(i => Math.Sin(i * 0.7) * 2).ToArray();
        var y = Enumerable.Range(0, 1500).Select(j => Math.Cos(j * 0.3) * 2 + 0.1).ToArray();
        var r = DriftStatistics.KolmogorovSmirnov(x, y);
        Assert.Equal(0.10133333333333333, r.Statistic, 12);
        Assert.Equal(8.352428217568424e-06, r.PValue!.Value, 3e-8);
    }

    [Fact]
    public void KolmogorovSmirnov_LargeSamples_AsymptoticCloseToScipy()
    {
        // 6000 vs 5000 -> D = 0.0714, scipy exact p = 1.562e-12 (asymptotic is within a few percent at this size)
        var x = Enumerable.Range(0, 6000).Select(i => Math.Sin(i * 0.7) * 2).ToArray();
        var y = Enumerable.Range(0, 5000).Select(j => Math.Sin(j * 0.45) * 2 + 0.05).ToArray();
        var r = DriftStatistics.KolmogorovSmirnov(x, y);
        Assert.Equal(0.0714, r.Statistic, 10);
        Assert.InRange(r.PValue!.Value, 1.562e-12 * 0.8, 1.562e-12 * 1.25);
    }

    [Theory]
    // stats.kstwobign.sf(x)
    [InlineData(0.25, 0.9999999731761899)]
    [InlineData(0.5, 0.9639452436648751)]
    [InlineData(1.0, 0.26999967167735456)]
    [InlineData(2.0, 0.0006709252557796953)]
    public void KolmogorovSurvival_MatchesScipyKstwobign(double lambda, double expected) =>
        Assert.Equal(expected, DriftStatistics.KolmogorovSurvival(lambda), 9);

    [Fact]
    public void KolmogorovSmirnov_IdenticalSamples_NoDrift()
    {
        var r = DriftStatistics.KolmogorovSmirnov(A, A);
        Assert.Equal(0, r.Statistic);
        Assert.Equal(1, r.PValue);
    }

    [Fact]
    public void ChiSquare_ContingencyTable_MatchesScipy()
    {
        // stats.chi2_contingency([[30,50,20],[45,40,15]], correction=False) -> (4.825396825396825, 0.08957326253887996,
        // dof 2)
        var r = DriftStatistics.ChiSquare(
            Counts(("a", 30), ("b", 50), ("c", 20)),
            Counts(("a", 45), ("b", 40), ("c", 15))
        );
        Assert.Equal(4.825396825396825, r.Statistic, 10);
        Assert.Equal(0.08957326253887996, r.PValue!.Value, 10);
    }

    [Fact]
    public void ChiSquare_UnseenCategory_FiniteAndSignificant()
    {
        var r = DriftStatistics.ChiSquare(Counts(("a", 50), ("b", 50)), Counts(("a", 40), ("b", 40), ("c", 20)));
        Assert.True(double.IsFinite(r.Statistic));
        Assert.True(r.PValue < 0.001);
    }

    [Fact]
    public void ZTest_TwoProportions_MatchesHandComputation()
    {
        // pooled two-proportion z: p1 = 60/100, p2 = 45/120 -> z = 3.3269089229142503, p = 2*norm.sf(|z|) =
        // 0.0008781506989815292
        var r = DriftStatistics.ZTest(Counts(("a", 60), ("b", 40)), Counts(("a", 45), ("b", 75)));
        Assert.Equal(3.3269089229142503, r.Statistic, 10);
        Assert.Equal(0.0008781506989815292, r.PValue!.Value, 12);
    }

    [Fact]
    public void ZTest_MoreThanTwoValues_Throws() =>
        Assert.Throws<ArgumentException>(() => DriftStatistics.ZTest(Counts(("a", 1), ("b", 1)), Counts(("c", 1))));

    [Fact]
    public void Wasserstein_MatchesScipy()
    {
        // stats.wasserstein_distance([0,1,3],[5,6,8]) = 5.0 ; wasserstein_distance(A, B) = 0.58705 ; np.std(A) =
        // 0.5771161473221833
        Assert.Equal(5.0, DriftStatistics.WassersteinSorted([0, 1, 3], [5, 6, 8]), 12);
        var a = A.Order().ToArray();
        var b = B.Order().ToArray();
        Assert.Equal(0.58705, DriftStatistics.WassersteinSorted(a, b), 10);
        Assert.Equal(0.58705 / 0.5771161473221833, DriftStatistics.NormalizedWasserstein(A, B), 10);
    }

    [Fact]
    public void JensenShannon_IdenticalIsZero_DisjointIsOne()
    {
        Assert.Equal(0, DriftStatistics.JensenShannon(Counts(("a", 3), ("b", 7)), Counts(("a", 30), ("b", 70))), 12);
        Assert.Equal(1, DriftStatistics.JensenShannon(Counts(("a", 10)), Counts(("b", 10))), 12);
    }

    [Fact]
    public void JensenShannon_MatchesScipyBase2()
    {
        // distance.jensenshannon([0.5,0.5,0],[0.25,0.25,0.5], base=2) = 0.5579230452841438
        Assert.Equal(0.5579230452841438, DriftStatistics.JensenShannon([0.5, 0.5, 0], [0.25, 0.25, 0.5]), 12);
    }

    [Fact]
    public void Psi_KnownBins_MatchesHandComputation()
    {
        // sum((c-r)*ln(c/r)) for r=[.1,.2,.3,.4], c=[.15,.25,.25,.35] = 0.04722308044204256
        Assert.Equal(0.04722308044204256, DriftStatistics.Psi([10, 20, 30, 40], [15, 25, 25, 35]), 12);
    }

    [Fact]
    public void Psi_EmptyBin_UsesEpsilonNotInfinity()
    {
        double psi = DriftStatistics.Psi([50, 50, 0], [40, 40, 20]);
        Assert.True(double.IsFinite(psi) && psi > 0.25);
    }

    [Fact]
    public void PsiSorted_SameDistribution_Small_ShiftedLarge()
    {
        var rng = new Random(3);
        var r = Enumerable.Range(0, 5000).Select(_ => TestData.Gauss(rng)).Order().ToArray();
        var same = Enumerable.Range(0, 5000).Select(_ => TestData.Gauss(rng)).Order().ToArray();
        var shifted = same.Select(v => v + 1).ToArray();
        Assert.True(DriftStatistics.PsiSorted(r, same) < 0.02);
        Assert.True(DriftStatistics.PsiSorted(r, shifted) > 0.25);
    }

    [Fact]
    public void LInfinity_FiftyFiftyToSeventyThirty_IsPointTwo() =>
        Assert.Equal(0.2, DriftStatistics.LInfinity(Counts(("0", 50), ("1", 50)), Counts(("0", 30), ("1", 70))), 12);

    private static Dictionary<string, long> Counts(params (string K, long N)[] items) =>
        items.ToDictionary(i => i.K, i => i.N);
}
