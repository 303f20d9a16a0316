using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Training;
using Mlops.Tracking.Evaluation;
using Xunit;

namespace Mlops.Tracking.Tests;

public sealed class EvaluationCurvesTests
{
    [Fact]
    public void Binary_PerfectClassifier_HasAucOneAndTheRocCorner()
    {
        double[] scores = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1];
        bool[] positive = [true, true, true, false, false, false];
        var doc = RunEvaluation.Binary(scores, positive, 0.5, "1");
        Assert.Equal(1.0, doc.Auc);
        Assert.Equal(1.0, doc.PrAuc);
        Assert.Contains(doc.Roc!, p => p.Fpr == 0 && p.Tpr == 1);
        Assert.Equal((0.0, 0.0), (doc.Roc![0].Fpr, doc.Roc[0].Tpr));
        Assert.Equal((1.0, 1.0), (doc.Roc[^1].Fpr, doc.Roc[^1].Tpr));
        Assert.All(doc.Pr!.Where(p => p.Recall < 1), p => Assert.Equal(1.0, p.Precision));
        var at = doc.Thresholds!.Single(t => t.Threshold == 0.5);
        Assert.Equal((3, 0, 3, 0), (at.Tp, at.Fp, at.Tn, at.Fn));
    }

    [Fact]
    public void Binary_InvertedClassifier_HasAucZero_AndRocThroughTheOtherCorner()
    {
        var doc = RunEvaluation.Binary([0.1, 0.2, 0.8, 0.9], [true, true, false, false], 0.5, "1");
        Assert.Equal(0.0, doc.Auc);
        Assert.Contains(doc.Roc!, p => p.Fpr == 1 && p.Tpr == 0);
    }

    [Fact]
    public void Thresholds_CountsAddUp_AndAScoreOnAThresholdIsPositive()
    {
        var rng = new Random(7);
        var scores = Enumerable.Range(0, 5000).Select(_ => Math.Round(rng.NextDouble(), 2)).ToArray(); // many scores exactly on a threshold
        var positive = scores.Select(s => rng.NextDouble() < s).ToArray();
        var table = EvaluationCurves.Thresholds(scores, positive);
        Assert.Equal(101, table.Count);
        int p = positive.Count(b => b);
        foreach (var row in table)
        {
            Assert.Equal(scores.Length, row.Tp + row.Fp + row.Tn + row.Fn);
            Assert.Equal(p, row.Tp + row.Fn);
            // The same counts as applying the threshold to every score directly.
            int tp = scores.Where((s, i) => s >= row.Threshold && positive[i]).Count();
            int fp = scores.Where((s, i) => s >= row.Threshold && !positive[i]).Count();
            Assert.Equal((tp, fp), (row.Tp, row.Fp));
        }
        Assert.Equal((p, scores.Length - p), (table[0].Tp, table[0].Fp)); // threshold 0: everything is positive
        Assert.Equal(0.29, table[29].Threshold);
        Assert.Equal(1, EvaluationCurves.Thresholds([0.29], [true])[29].Tp); // 0.29*100 is 28.999…; still counted at 0.29
    }

    [Fact]
    public void Roc_IsThinnedToAtMost200Points_KeepingBothEnds()
    {
        var rng = new Random(3);
        var scores = Enumerable.Range(0, 20_000).Select(_ => rng.NextDouble()).ToArray();
        var positive = scores.Select(s => rng.NextDouble() < s).ToArray();
        var (roc, pr) = EvaluationCurves.RocAndPr(scores, positive);
        Assert.Equal(EvaluationCurves.MaxCurvePoints, roc.Count);
        Assert.Equal(EvaluationCurves.MaxCurvePoints, pr.Count);
        Assert.Equal((0.0, 0.0), (roc[0].Fpr, roc[0].Tpr));
        Assert.Equal((1.0, 1.0), (roc[^1].Fpr, roc[^1].Tpr));
        Assert.True(roc.Zip(roc.Skip(1)).All(x => x.Second.Fpr >= x.First.Fpr && x.Second.Tpr >= x.First.Tpr));
        // Trapezoids under the thinned curve stay close to the exact AUC.
        double area = roc.Zip(roc.Skip(1)).Sum(x => (x.Second.Fpr - x.First.Fpr) * (x.Second.Tpr + x.First.Tpr) / 2);
        Assert.InRange(area - MetricFunctions.RocAuc(scores, positive), -2e-3, 2e-3);
    }

    [Fact]
    public void Calibration_BinsCountAndMeanTheScores()
    {
        var bins = EvaluationCurves.Calibration([0.05, 0.15, 0.12, 0.95, 1.0], [false, true, false, true, true]);
        Assert.Equal([0.0, 0.1, 0.9], bins.Select(b => b.Lower));
        var second = bins[1];
        Assert.Equal((2, 0.135, 0.5), (second.Count, Math.Round(second.MeanPredicted, 12), second.FractionPositive));
        Assert.Equal((2, 1.0), (bins[2].Count, bins[2].FractionPositive)); // a score of 1.0 lands in the last bin
        Assert.Equal(5, bins.Sum(b => b.Count));
    }

    [Fact]
    public void Regression_ResidualsAndPairs_AreKnown()
    {
        var actual = Enumerable.Range(0, 3000).Select(i => (double)i).ToArray();
        var predicted = actual.Select((a, i) => a - (i % 2 == 0 ? 1.0 : -1.0)).ToArray(); // residuals alternate +1, −1
        var doc = RunEvaluation.Regression(actual, predicted);
        Assert.Equal(3000, doc.Rows);
        Assert.Equal(RunEvaluation.MaxPairs, doc.Pairs!.Count);
        Assert.Equal([0.0, -1.0], doc.Pairs[0]); // (actual, predicted)
        var r = doc.Residuals!;
        Assert.Equal((0.0, 1.0, 1.0, -1.0, 1.0), (r.Mean, r.Mae, r.Rmse, r.Min, r.Max));
        Assert.Equal(3000, doc.ResidualHistogram!.Sum(b => b.Count));
    }

    [Fact]
    public void PerClass_FromAConfusionMatrix()
    {
        var confusion = new ConfusionTable(
            ["a", "b"],
            [
                [8, 2],
                [1, 9],
            ]
        );
        var scores = EvaluationCurves.PerClass(confusion);
        Assert.Equal((0.8, 8.0 / 9, 10), (scores[0].Recall, scores[0].Precision, scores[0].Support));
    }

    [Fact]
    public void Compute_OnATrainedModel_AgreesWithTheEvaluator()
    {
        var rng = new Random(11);
        int n = 600;
        var x = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        var noise = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var label = x.Select((v, i) => v + noise[i] > 0 ? "yes" : "no").ToArray();
        var table = new DataTable([
            Column.Numeric("x", x),
            Column.Numeric("noise", noise.Select(v => v * 0.01 + 5).ToArray()),
            Column.Categorical("y", label),
        ]);
        var model = ModelTrainer
            .Train(table, new TrainingSpec("y", MlTask.Binary) { Trainer = TrainerKind.Linear })
            .Model;

        var doc = RunEvaluation.Compute(model, table);
        var report = Evaluator.Evaluate(model, table);
        Assert.Equal(report.Metrics["auc"], doc.Auc!.Value, 12);
        Assert.Equal("yes", doc.PositiveClass);
        Assert.Equal(n, doc.Confusion!.Counts.Sum(row => row.Sum()));
        var atModelThreshold = doc.Thresholds!.Single(t => t.Threshold == 0.5);
        Assert.Equal(report.Confusion!.Counts[1][1], atModelThreshold.Tp);

        var importance = RunEvaluation.Importance(model);
        Assert.Equal("coefficient", importance.Kind);
        Assert.Equal("x", importance.Features[0].Column);
        Assert.Equal(1.0, importance.Features.Sum(f => f.Importance), 9);
    }
}
