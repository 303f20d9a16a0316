using Mlops.ML.Metrics;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Tests;

public class CbpeTests
{
    // Scores are P(y = 1) exactly when labels are drawn as Bernoulli(score): a perfectly calibrated model.
    private static (double[] Scores, bool[] Labels) Calibrated(int n, int seed, Func<double, double>? skew = null)
    {
        var rng = new Random(seed);
        var scores = new double[n];
        var labels = new bool[n];
        for (int i = 0; i < n; i++)
        {
            double p = rng.NextDouble();
            scores[i] = skew is null ? p : skew(p);
            labels[i] = rng.NextDouble() < p;
        }
        return (scores, labels);
    }

    private static double RealizedAccuracy(double[] scores, bool[] labels, double threshold = 0.5) =>
        scores.Where((s, i) => s >= threshold == labels[i]).Count() / (double)scores.Length;

    [Fact]
    public void Estimate_CalibratedScores_MatchesRealizedAccuracyAndAucWithinOneHundredth()
    {
        var (scores, labels) = Calibrated(40_000, seed: 3);
        var estimate = Cbpe.Estimate(scores, Fixtures.BinaryReference(100))!;
        // Tolerance: the realized accuracy of 40,000 Bernoulli draws has a standard error of about 0.002.
        Assert.InRange(
            estimate.Metrics["accuracy"],
            RealizedAccuracy(scores, labels) - 0.01,
            RealizedAccuracy(scores, labels) + 0.01
        );
        double auc = MetricFunctions.RocAuc(scores, labels);
        Assert.InRange(estimate.Metrics["auc"], auc - 0.01, auc + 0.01);
        Assert.InRange(estimate.Metrics["accuracy"], 0.74, 0.76); // E[max(p, 1 − p)] for p ~ U(0, 1) is 3/4
    }

    [Fact]
    public void Estimate_MiscalibratedScoresWithIsotonicCalibration_RecoversRealizedAccuracy()
    {
        // The model's scores are p² (overconfident negatives); calibration fitted on a reference sample undoes it.
        var (refScores, refLabels) = Calibrated(40_000, seed: 4, skew: p => p * p);
        var calibration = ScoreCalibration.Fit(refScores, refLabels)!;
        var (scores, labels) = Calibrated(40_000, seed: 5, skew: p => p * p);
        var reference = Fixtures.BinaryReference(100, calibration: calibration);
        var calibrated = Cbpe.Estimate(scores, reference)!;
        var raw = Cbpe.Estimate(scores, Fixtures.BinaryReference(100))!;
        double realized = RealizedAccuracy(scores, labels);
        Assert.True(calibrated.Calibrated);
        Assert.InRange(calibrated.Metrics["accuracy"], realized - 0.015, realized + 0.015);
        Assert.True(
            Math.Abs(raw.Metrics["accuracy"] - realized) > 0.03,
            "without calibration the estimate should be off"
        );
    }

    [Fact]
    public void Fit_IsMonotoneAndBounded()
    {
        var (scores, labels) = Calibrated(5000, seed: 6);
        var c = ScoreCalibration.Fit(scores, labels)!;
        Assert.True(c.Scores.Length <= ScoreCalibration.MaxKnots);
        for (int i = 1; i < c.Probabilities.Length; i++)
            Assert.True(c.Probabilities[i] >= c.Probabilities[i - 1]);
        Assert.InRange(c.Apply(-5), 0, 1);
        Assert.InRange(c.Apply(0.5), 0.4, 0.6);
    }

    [Fact]
    public void ExpectedAuc_CertainProbabilities_EqualsRealizedAuc()
    {
        double[] scores = [0.9, 0.8, 0.7, 0.3, 0.2];
        double[] truth = [1, 0, 1, 0, 0];
        Assert.Equal(
            MetricFunctions.RocAuc(scores, truth.Select(t => t == 1).ToArray()),
            Cbpe.ExpectedAuc(scores, truth),
            12
        );
    }

    [Fact]
    public void Estimate_Regression_ReturnsNull()
    {
        var reference = Fixtures.BinaryReference(100) with { Task = "regression", Classes = [] };
        Assert.Null(Cbpe.Estimate([1.0, 2.0], reference));
    }
}
