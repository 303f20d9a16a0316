using Mlops.ML.Importance;
using Mlops.ML.Metrics;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

public class MetricsTests
{
    [Fact]
    public void RocAuc_KnownExampleWithTies_MatchesHandComputed()
    {
        // Pairs (pos, neg): scores pos {0.8, 0.4, 0.4}, neg {0.4, 0.1}: wins 2+0.5+0.5 + 2 = 5 of 6.
        double[] s = [0.8, 0.4, 0.4, 0.4, 0.1];
        bool[] y = [true, true, true, false, false];
        Assert.Equal(5.0 / 6, MetricFunctions.RocAuc(s, y), 12);
    }

    [Fact]
    public void AveragePrecision_PerfectRanking_IsOne()
    {
        Assert.Equal(1.0, MetricFunctions.AveragePrecision([0.9, 0.8, 0.3, 0.1], [true, true, false, false]), 12);
        Assert.Equal(
            0.5 * 1 + 0.5 * (2.0 / 3),
            MetricFunctions.AveragePrecision([0.9, 0.8, 0.3, 0.1], [true, false, true, false]),
            12
        );
    }

    [Fact]
    public void RegressionMetrics_KnownValues()
    {
        double[] y = [1, 2, 3, 4],
            p = [1, 2, 3, 6];
        Assert.Equal(1.0, MetricFunctions.Rmse(y, p), 12);
        Assert.Equal(0.5, MetricFunctions.Mae(y, p), 12);
        Assert.Equal(1 - 4 / 5.0, MetricFunctions.R2(y, p), 12);
        Assert.Equal(0.5 / 4, MetricFunctions.Mape(y, p), 12);
    }

    [Fact]
    public void LogLoss_ClipsZeroProbability()
    {
        Assert.Equal(-Math.Log(1e-15), MetricFunctions.LogLoss([1.0, 0.0], 2, [1]), 6);
    }

    [Fact]
    public void Evaluate_WithSliceColumn_ReportsPerValueMetrics()
    {
        var data = TestData.Load("sk_iris");
        var model = ModelTrainer
            .Train(data, new TrainingSpec("target", MlTask.Multiclass) { Trainer = TrainerKind.Linear })
            .Model;
        var report = Evaluator.Evaluate(model, data, "target");
        Assert.Equal(3, report.Slices.Count);
        Assert.All(report.Slices, s => Assert.Equal(50, s.RowCount));
        Assert.Contains("macro_f1", report.Metrics.Keys);
        Assert.Contains("micro_f1", report.Metrics.Keys);
        Assert.Equal(report.Metrics["accuracy"], report.Metrics["micro_f1"], 12);
        Assert.Equal(150, report.Confusion!.Counts.Sum(r => r.Sum()));
    }

    [Fact]
    public void Importance_BreastCancer_GainAndPermutationAgreeOnInformativeColumns()
    {
        var (train, test) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var model = ModelTrainer.Train(train, new TrainingSpec("target", MlTask.Binary)).Model;
        var gain = model.GainImportance();
        Assert.Equal(30, gain.Count);
        Assert.Equal(1.0, gain.Sum(g => g.Importance), 9);
        var perm = PermutationImportance.Compute(model, test, repeats: 2);
        Assert.Equal(30, perm.Count);
        // The strongest gain features must matter when shuffled; the weakest must not matter much.
        var topGain = gain.Take(5).Select(g => g.Column).ToHashSet();
        Assert.True(perm.Where(p => topGain.Contains(p.Column)).Max(p => p.Drop) > 0.001);
        Assert.True(perm.Where(p => !topGain.Contains(p.Column)).All(p => p.Drop < perm[0].Drop));
    }
}
