using System.Globalization;
using Mlops.Data.Drift;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

/// <summary>
/// Validation (a dataset version against the previous one) and monitoring (a production window against the training
/// reference) judge drift through one implementation, <see cref="DriftDetector.Judge"/>: the same two samples and
/// settings give the same method and verdict on both paths, and the same statistic (exactly for small references, kept
/// whole; within the quantile sketch's step for large ones).
/// </summary>
public class DriftVerdictParityTests
{
    /// <summary>A shared fixture: one column's reference and current values, as numbers or as categories.</summary>
    public sealed record Case(
        string Name,
        object[] Reference,
        object[] Current,
        DriftMethod Requested,
        DriftMethod Expected,
        bool Drifted,
        double Tolerance = 0,
        int PsiBins = 10
    );

    private static object[] Numbers(double[] values) => values.Select(v => (object)v).ToArray();

    private static object[] Repeat(params (object Value, int Times)[] parts) =>
        parts.SelectMany(p => Enumerable.Repeat(p.Value, p.Times)).ToArray();

    public static TheoryData<Case> Cases()
    {
        var rng = new Random(42);
        return new TheoryData<Case>
        {
            new(
                "small numeric, shifted: KS",
                Numbers(Normal(rng, 500)),
                Numbers(Normal(rng, 400, mean: 0.5)),
                DriftMethod.Auto,
                DriftMethod.KolmogorovSmirnov,
                Drifted: true
            ),
            new(
                "small numeric, same: KS",
                Numbers(Normal(rng, 500)),
                Numbers(Normal(rng, 400)),
                DriftMethod.Auto,
                DriftMethod.KolmogorovSmirnov,
                Drifted: false
            ),
            new(
                "large numeric, shifted: Wasserstein",
                Numbers(Normal(rng, 5000)),
                Numbers(Normal(rng, 2000, mean: 0.4)),
                DriftMethod.Auto,
                DriftMethod.Wasserstein,
                Drifted: true,
                Tolerance: 0.01
            ),
            new(
                "small categorical: chi-square",
                Repeat(("a", 300), ("b", 200), ("c", 100)),
                Repeat(("a", 100), ("b", 200), ("c", 300)),
                DriftMethod.Auto,
                DriftMethod.ChiSquare,
                Drifted: true
            ),
            new(
                "small binary: Z-test",
                Repeat((0.0, 300), (1.0, 300)),
                Repeat((0.0, 310), (1.0, 290)),
                DriftMethod.Auto,
                DriftMethod.ZTest,
                Drifted: false
            ),
            // Two values on each side, three together: monitoring used to run the Z-test on it and throw.
            new(
                "binary becoming ternary: chi-square",
                Repeat((0.0, 300), (1.0, 300)),
                Repeat((0.0, 300), (5.0, 300)),
                DriftMethod.Auto,
                DriftMethod.ChiSquare,
                Drifted: true
            ),
            // Histogram bins follow the population sizes: monitoring used to count its 1001 reference quantiles
            // instead.
            new(
                "large numeric, Jensen-Shannon",
                Numbers(Normal(rng, 5000)),
                Numbers(Normal(rng, 3000, mean: 0.6)),
                DriftMethod.JensenShannon,
                DriftMethod.JensenShannon,
                Drifted: true,
                Tolerance: 0.02
            ),
            // psiBins applies to both paths: monitoring used to bin PSI in 10 whatever validation was told.
            new(
                "large numeric, PSI in 20 bins",
                Numbers(Normal(rng, 5000)),
                Numbers(Normal(rng, 3000, mean: 0.5)),
                DriftMethod.Psi,
                DriftMethod.Psi,
                Drifted: true,
                Tolerance: 0.02,
                PsiBins: 20
            ),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validation_And_Monitoring_SameSamples_SameVerdict(Case c)
    {
        var byValidation = ByValidation(c);
        var byMonitoring = ByMonitoring(c);

        Assert.Equal(c.Expected, byValidation.Method);
        Assert.Equal(c.Expected, byMonitoring.Method);
        Assert.Equal(c.Drifted, byValidation.Drifted);
        Assert.Equal(c.Drifted, byMonitoring.Drifted);
        Assert.Equal(byValidation.ReferenceCount, byMonitoring.ReferenceCount);
        Assert.Equal(byValidation.CurrentCount, byMonitoring.CurrentCount);
        Assert.Equal(byValidation.Threshold, byMonitoring.Threshold);
        Assert.True(
            Math.Abs(byValidation.Statistic - byMonitoring.Statistic) <= c.Tolerance,
            $"{c.Name}: validation {byValidation.Statistic}, monitoring {byMonitoring.Statistic}"
        );
        if (c.Tolerance == 0)
            Assert.Equal(byValidation.PValue, byMonitoring.PValue);
    }

    [Fact]
    public void Parse_PsiBins_ReachesTheDriftRules()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"psiBins": 20}""");
        Assert.Equal(20, MonitoringOptions.Parse(doc.RootElement).DriftRules.PsiBins);
        using var bad = System.Text.Json.JsonDocument.Parse("""{"psiBins": 1}""");
        Assert.Contains(
            "monitoring.psiBins",
            Assert.Throws<MonitoringException>(() => MonitoringOptions.Parse(bad.RootElement)).Message
        );
    }

    private static DriftResult ByValidation(Case c)
    {
        string Csv(object[] values) =>
            "x\n" + string.Concat(values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture) + "\n"));
        var reference = CsvTableReader.Parse(Csv(c.Reference))["x"];
        var current = CsvTableReader.Parse(Csv(c.Current))["x"];
        var options = new ValidationOptions { PsiBins = c.PsiBins };
        return DriftDetector.Compute(reference, current, new DriftColumnOptions(c.Requested), options)!;
    }

    private static DriftResult ByMonitoring(Case c)
    {
        var options = new MonitoringOptions { Drift = new DriftColumnOptions(c.Requested), PsiBins = c.PsiBins };
        ColumnWindow window;
        if (c.Reference[0] is double)
        {
            var reference = Sorted(c.Reference.Cast<double>().ToArray());
            var current = Sorted(c.Current.Cast<double>().ToArray());
            var summary = FeatureSummaries.Numeric("x", reference, reference.Length, ReferenceProfile.ExactUpTo);
            window = new ColumnWindow(summary, current.Length, current.Length, 0, 0, current, null);
        }
        else
        {
            static Dictionary<string, long> Counts(object[] values) =>
                values
                    .Cast<string>()
                    .GroupBy(v => v)
                    .ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
            var summary = FeatureSummaries.Categorical(
                "x",
                ReferenceKind.Categorical,
                Counts(c.Reference),
                c.Reference.Length
            );
            window = new ColumnWindow(summary, c.Current.Length, c.Current.Length, 0, 0, null, Counts(c.Current));
        }
        return DriftAnalysis.Column(window, options)!;
    }
}
