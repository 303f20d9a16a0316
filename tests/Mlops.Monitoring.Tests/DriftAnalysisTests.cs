using Mlops.Data.Drift;
using Mlops.Data.Validation;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

public class DriftAnalysisTests
{
    private static ColumnWindow Window(FeatureReference reference, double[] values) =>
        new(reference, values.Length, values.Length, 0, 0, Sorted(values), null);

    [Fact]
    public void Column_ShiftedNormalLargeReference_DriftsByWasserstein()
    {
        var rng = new Random(7);
        var reference = FeatureSummaries.Numeric("x", Sorted(Normal(rng, 50_000)), 50_000, ReferenceProfile.ExactUpTo);
        var result = DriftAnalysis.Column(Window(reference, Normal(rng, 20_000, mean: 0.5)), new MonitoringOptions())!;
        Assert.Equal(DriftMethod.Wasserstein, result.Method);
        Assert.True(result.Drifted);
        Assert.InRange(result.Statistic, 0.45, 0.55); // W1 of a 0.5 shift of N(0,1), in standard deviations
    }

    [Fact]
    public void Column_SameDistributionLargeReference_NoDrift()
    {
        var rng = new Random(8);
        var reference = FeatureSummaries.Numeric("x", Sorted(Normal(rng, 50_000)), 50_000, ReferenceProfile.ExactUpTo);
        var result = DriftAnalysis.Column(Window(reference, Normal(rng, 20_000)), new MonitoringOptions())!;
        Assert.False(result.Drifted);
        Assert.True(result.Statistic < 0.03, $"statistic {result.Statistic}");
    }

    [Fact]
    public void Column_QuantileSketch_MatchesFullDataWassersteinWithinOneHundredth()
    {
        var rng = new Random(9);
        var full = Normal(rng, 100_000);
        var current = Normal(rng, 30_000, mean: 0.2, sd: 1.3);
        var reference = FeatureSummaries.Numeric("x", Sorted(full), full.Length, ReferenceProfile.ExactUpTo);
        var sketch = DriftAnalysis.Column(Window(reference, current), new MonitoringOptions())!.Statistic;
        double exact = DriftStatistics.NormalizedWasserstein(full, current);
        Assert.InRange(sketch, exact - 0.01, exact + 0.01);
    }

    [Fact]
    public void Column_SmallReference_UsesExactKsAndDetectsShift()
    {
        var rng = new Random(10);
        var reference = FeatureSummaries.Numeric("x", Sorted(Normal(rng, 500)), 500, ReferenceProfile.ExactUpTo);
        Assert.True(reference.Exact);
        var shifted = DriftAnalysis.Column(Window(reference, Normal(rng, 500, mean: 0.5)), new MonitoringOptions())!;
        var same = DriftAnalysis.Column(Window(reference, Normal(rng, 500)), new MonitoringOptions())!;
        Assert.Equal(DriftMethod.KolmogorovSmirnov, shifted.Method);
        Assert.True(shifted.Drifted && shifted.PValue < 1e-6);
        Assert.False(same.Drifted);
        Assert.True(same.PValue > 0.05);
    }

    [Fact]
    public void Column_CategoricalShareChange_DriftsByJensenShannon()
    {
        var reference = FeatureSummaries.Categorical(
            "c",
            ReferenceKind.Categorical,
            new Dictionary<string, long> { ["a"] = 5000, ["b"] = 5000 },
            10_000
        );
        // Binary column: Evidently's rule tests a large reference with Jensen–Shannon.
        var moved = new ColumnWindow(
            reference,
            1000,
            1000,
            0,
            0,
            null,
            new Dictionary<string, long> { ["a"] = 800, ["b"] = 200 }
        );
        var kept = new ColumnWindow(
            reference,
            1000,
            1000,
            0,
            0,
            null,
            new Dictionary<string, long> { ["a"] = 505, ["b"] = 495 }
        );
        var options = new MonitoringOptions();
        Assert.Equal(DriftMethod.JensenShannon, DriftAnalysis.Column(moved, options)!.Method);
        Assert.True(DriftAnalysis.Column(moved, options)!.Drifted);
        Assert.False(DriftAnalysis.Column(kept, options)!.Drifted);
    }

    [Fact]
    public void Column_TooFewCurrentValues_InsufficientNotDrifted()
    {
        var rng = new Random(11);
        var reference = FeatureSummaries.Numeric("x", Sorted(Normal(rng, 5000)), 5000, ReferenceProfile.ExactUpTo);
        var result = DriftAnalysis.Column(Window(reference, Normal(rng, 10, mean: 3)), new MonitoringOptions())!;
        Assert.True(result.InsufficientData);
        Assert.False(result.Drifted);
    }

    [Fact]
    public void ChooseMethod_MatchesDataLibraryRule()
    {
        Assert.Equal(
            DriftMethod.KolmogorovSmirnov,
            DriftDetector.ChooseMethod(DriftMethod.Auto, 1000, numeric: true, distinct: 100, 1000)
        );
        Assert.Equal(
            DriftMethod.Wasserstein,
            DriftDetector.ChooseMethod(DriftMethod.Auto, 1001, numeric: true, distinct: 100, 1000)
        );
        Assert.Equal(
            DriftMethod.ZTest,
            DriftDetector.ChooseMethod(DriftMethod.Auto, 10, numeric: false, distinct: 2, 1000)
        );
        Assert.Equal(
            DriftMethod.ChiSquare,
            DriftDetector.ChooseMethod(DriftMethod.Auto, 10, numeric: false, distinct: 3, 1000)
        );
        Assert.Equal(
            DriftMethod.JensenShannon,
            DriftDetector.ChooseMethod(DriftMethod.Auto, 5000, numeric: true, distinct: 4, 1000)
        );
    }
}
