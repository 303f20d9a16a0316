using System.Globalization;
using Mlops.Core.Statistics;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Analysis;

/// <summary>Realized performance on the window's predictions that have feedback labels.</summary>
/// <param name="Status"><c>ok</c>, or <c>insufficient_labels</c> below the minimum (metrics are then still shown, but
/// not judged).</param>
/// <param name="Labels">Joined labels used.</param>
/// <param name="InvalidLabels">Labels that could not be read (not a known class; not a number for regression).</param>
/// <param name="MinLabels">Fewest labels for a verdict.</param>
/// <param name="Metrics">Metrics with the evaluator's names (auc, accuracy, f1, logloss …; rmse, mae, r2 …).</param>
/// <param name="ReferenceMetrics">The same metrics recorded with the model at evaluation.</param>
public sealed record PerformanceResult(
    string Status,
    int Labels,
    int InvalidLabels,
    int MinLabels,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, double> ReferenceMetrics
)
{
    /// <summary>True when there were enough labels to judge.</summary>
    public bool Sufficient => Status == "ok";
}

/// <summary>Metrics of served predictions against labels that came back, with the formulas the evaluator uses (<see
/// cref="MetricFunctions"/>).</summary>
public static class PerformanceAnalysis
{
    /// <summary>Status when fewer labels than the minimum were joined.</summary>
    public const string InsufficientLabels = "insufficient_labels";

    /// <summary>Performance of the joined rows; <paramref name="labels"/> maps prediction id → label text.</summary>
    public static PerformanceResult Compute(
        IReadOnlyList<LabeledPrediction> joined,
        IReadOnlyDictionary<string, string> labels,
        ReferenceProfile reference,
        int minLabels
    )
    {
        var task = reference.ParsedTask;
        var metrics = new Dictionary<string, double>();
        int invalid;
        int used;
        if (task == MlTask.Regression)
        {
            var y = new List<double>();
            var p = new List<double>();
            foreach (var row in joined)
                if (
                    double.TryParse(labels[row.Id], NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                    && !double.IsNaN(row.Score)
                )
                {
                    y.Add(v);
                    p.Add(row.Score);
                }
            used = y.Count;
            invalid = joined.Count - used;
            if (used > 0)
            {
                metrics["rmse"] = MetricFunctions.Rmse(y.ToArray(), p.ToArray());
                metrics["mae"] = MetricFunctions.Mae(y.ToArray(), p.ToArray());
                metrics["r2"] = MetricFunctions.R2(y.ToArray(), p.ToArray());
                metrics["mape"] = MetricFunctions.Mape(y.ToArray(), p.ToArray());
            }
        }
        else
        {
            var classIndex = reference
                .Classes.Select((c, i) => (c, i))
                .ToDictionary(t => t.c, t => t.i, StringComparer.Ordinal);
            var actual = new List<int>();
            var predicted = new List<int>();
            var probs = new List<double>();
            var scores = new List<double>();
            int c = reference.Classes.Count;
            foreach (var row in joined)
            {
                if (
                    !classIndex.TryGetValue(NormalizeLabel(labels[row.Id]), out int a)
                    || row.PredictedLabel is null
                    || !classIndex.TryGetValue(row.PredictedLabel, out int k)
                )
                    continue;
                actual.Add(a);
                predicted.Add(k);
                scores.Add(row.Score);
                probs.AddRange(row.Probabilities ?? new double[c]);
            }
            used = actual.Count;
            invalid = joined.Count - used;
            if (used > 0)
                Classification(
                    metrics,
                    reference,
                    actual.ToArray(),
                    predicted.ToArray(),
                    probs.ToArray(),
                    scores.ToArray()
                );
        }
        return new PerformanceResult(
            used >= minLabels ? "ok" : InsufficientLabels,
            used,
            invalid,
            minLabels,
            metrics,
            reference.Metrics
        );
    }

    private static void Classification(
        Dictionary<string, double> m,
        ReferenceProfile reference,
        int[] actual,
        int[] predicted,
        double[] probs,
        double[] scores
    )
    {
        int n = actual.Length,
            c = reference.Classes.Count;
        m["accuracy"] = actual.Where((a, i) => a == predicted[i]).Count() / (double)n;
        m["logloss"] = MetricFunctions.LogLoss(probs, c, actual);
        if (reference.ParsedTask != MlTask.Binary)
            return;
        var positive = actual.Select(a => a == 1).ToArray();
        m["auc"] = MetricFunctions.RocAuc(scores, positive);
        m["pr_auc"] = MetricFunctions.AveragePrecision(scores, positive);
        var (precision, recall, f1) = PrecisionRecall(actual.Zip(predicted, (a, p) => (a == 1 ? 1.0 : 0.0, p == 1)));
        m["precision"] = precision;
        m["recall"] = recall;
        m["f1"] = f1;
    }

    /// <summary>
    /// Precision, recall and F1 of the positive class from (probability the row is positive, predicted positive) pairs:
    /// with 0/1 truths these are the realized values, with calibrated probabilities the expected ones (CBPE).
    /// </summary>
    internal static (double Precision, double Recall, double F1) PrecisionRecall(
        IEnumerable<(double Positive, bool PredictedPositive)> rows
    )
    {
        double tp = 0,
            fp = 0,
            fn = 0;
        foreach (var (pos, predicted) in rows)
        {
            if (predicted)
            {
                tp += pos;
                fp += 1 - pos;
            }
            else
                fn += pos;
        }
        double precision = tp + fp == 0 ? 0 : tp / (tp + fp),
            recall = tp + fn == 0 ? 0 : tp / (tp + fn);
        return (precision, recall, precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall));
    }

    // Labels posted as JSON numbers (1, 1.0) match classes stored in round-trip form ("1").
    private static string NormalizeLabel(string label) =>
        double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? SortedValues.NumberKey(v)
            : label;
}
