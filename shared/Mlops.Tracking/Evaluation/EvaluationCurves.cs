using Mlops.Core.Statistics;
using Mlops.ML.Metrics;

namespace Mlops.Tracking.Evaluation;

/// <summary>A point of a ROC curve; <see cref="Threshold"/> is the lowest score predicted positive (null: nothing
/// is).</summary>
public sealed record RocPoint(double Fpr, double Tpr, double? Threshold);

/// <summary>A point of a precision-recall curve.</summary>
public sealed record PrPoint(double Recall, double Precision, double? Threshold);

/// <summary>A calibration bin: scores in [Lower, Upper), their mean and the observed share of positives.</summary>
public sealed record CalibrationBin(
    double Lower,
    double Upper,
    int Count,
    double MeanPredicted,
    double FractionPositive
);

/// <summary>Confusion counts when rows scoring at least <see cref="Threshold"/> are predicted positive.</summary>
public sealed record ThresholdCounts(double Threshold, int Tp, int Fp, int Tn, int Fn);

/// <summary>A confusion matrix: rows are actual classes, columns predicted, in <see cref="Labels"/> order.</summary>
public sealed record ConfusionTable(IReadOnlyList<string> Labels, int[][] Counts);

/// <summary>Per-class precision, recall, F1 and support of a multiclass model.</summary>
public sealed record ClassScores(string Label, double Precision, double Recall, double F1, int Support);

/// <summary>Summary of regression residuals (actual − predicted).</summary>
public sealed record ResidualSummary(
    double Mean,
    double Std,
    double Mae,
    double Rmse,
    double Min,
    double P5,
    double P25,
    double P50,
    double P75,
    double P95,
    double Max
);

/// <summary>A histogram bin of residuals.</summary>
public sealed record HistogramBin(double Lower, double Upper, int Count);

/// <summary>
/// The curves of <c>evaluation.json</c>, computed from scores and labels in O(n log n) (one sort) and kept small:
/// at most <see cref="MaxCurvePoints"/> points per curve and a 101-threshold table, so a page draws them and a slider
/// moves the confusion matrix without the scores.
/// </summary>
public static class EvaluationCurves
{
    public const int MaxCurvePoints = 200;
    public const int ThresholdSteps = 100;

    /// <summary>ROC and PR curves at every distinct score (thinned to <see cref="MaxCurvePoints"/>), from the highest
    /// score down.</summary>
    public static (List<RocPoint> Roc, List<PrPoint> Pr) RocAndPr(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<bool> positive
    )
    {
        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++)
            order[i] = i;
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        Array.Reverse(order);
        int p = 0;
        foreach (bool b in positive)
            if (b)
                p++;
        int n = scores.Length - p;
        var roc = new List<RocPoint> { new(0, 0, null) };
        var pr = new List<PrPoint> { new(0, 1, null) };
        int tp = 0,
            fp = 0;
        for (int i = 0; i < order.Length; )
        {
            double score = scores[order[i]];
            while (i < order.Length && scores[order[i]] == score)
            {
                if (positive[order[i]])
                    tp++;
                else
                    fp++;
                i++;
            }
            roc.Add(new RocPoint(n == 0 ? 0 : (double)fp / n, p == 0 ? 0 : (double)tp / p, score));
            pr.Add(new PrPoint(p == 0 ? 0 : (double)tp / p, (double)tp / (tp + fp), score));
        }
        return (Thin(roc), Thin(pr));
    }

    /// <summary>Keeps the first and last point and evenly spaced ones between, at most <see
    /// cref="MaxCurvePoints"/>.</summary>
    internal static List<T> Thin<T>(List<T> points)
    {
        if (points.Count <= MaxCurvePoints)
            return points;
        var kept = new List<T>(MaxCurvePoints);
        double step = (points.Count - 1) / (double)(MaxCurvePoints - 1);
        for (int k = 0; k < MaxCurvePoints; k++)
            kept.Add(points[(int)Math.Round(k * step)]);
        return kept;
    }

    /// <summary>Ten equal-width bins over [0, 1]; empty bins are left out.</summary>
    public static List<CalibrationBin> Calibration(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<bool> positive,
        int bins = 10
    )
    {
        var count = new int[bins];
        var sum = new double[bins];
        var hits = new int[bins];
        for (int i = 0; i < scores.Length; i++)
        {
            int b = Math.Clamp((int)(scores[i] * bins), 0, bins - 1);
            count[b]++;
            sum[b] += scores[i];
            if (positive[i])
                hits[b]++;
        }
        var result = new List<CalibrationBin>();
        for (int b = 0; b < bins; b++)
            if (count[b] > 0)
                result.Add(
                    new CalibrationBin(
                        (double)b / bins,
                        (double)(b + 1) / bins,
                        count[b],
                        sum[b] / count[b],
                        (double)hits[b] / count[b]
                    )
                );
        return result;
    }

    /// <summary>
    /// Confusion counts at thresholds 0.00, 0.01, …, 1.00 (a row is positive when its score ≥ the threshold), from one
    /// pass: each score falls in the bucket of the highest threshold it reaches; counts are suffix sums.
    /// </summary>
    public static List<ThresholdCounts> Thresholds(ReadOnlySpan<double> scores, ReadOnlySpan<bool> positive)
    {
        var pos = new int[ThresholdSteps + 1];
        var neg = new int[ThresholdSteps + 1];
        int totalPos = 0,
            totalNeg = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (positive[i])
                totalPos++;
            else
                totalNeg++;
            int k = HighestThresholdReached(scores[i]);
            if (k < 0)
                continue;
            if (positive[i])
                pos[k]++;
            else
                neg[k]++;
        }
        var rows = new ThresholdCounts[ThresholdSteps + 1];
        int tp = 0,
            fp = 0;
        for (int k = ThresholdSteps; k >= 0; k--)
        {
            tp += pos[k];
            fp += neg[k];
            rows[k] = new ThresholdCounts(Threshold(k), tp, fp, totalNeg - fp, totalPos - tp);
        }
        return [.. rows];
    }

    private static double Threshold(int k) => k / (double)ThresholdSteps;

    /// <summary>The largest k with score ≥ k/100, or −1 (a NaN or negative score reaches none); exact at the
    /// boundaries.</summary>
    private static int HighestThresholdReached(double score)
    {
        if (double.IsNaN(score) || score < 0)
            return -1;
        int k = (int)Math.Min(ThresholdSteps, Math.Floor(score * ThresholdSteps));
        while (k < ThresholdSteps && score >= Threshold(k + 1))
            k++;
        while (k >= 0 && score < Threshold(k))
            k--;
        return k;
    }

    /// <summary>Per-class precision, recall, F1 and support from a confusion matrix (rows actual, columns
    /// predicted).</summary>
    public static List<ClassScores> PerClass(ConfusionTable confusion)
    {
        var counts = confusion.Counts;
        var result = new List<ClassScores>();
        for (int k = 0; k < confusion.Labels.Count; k++)
        {
            int tp = counts[k][k],
                support = counts[k].Sum(),
                predicted = counts.Sum(row => row[k]);
            double precision = predicted == 0 ? 0 : (double)tp / predicted,
                recall = support == 0 ? 0 : (double)tp / support;
            result.Add(
                new ClassScores(
                    confusion.Labels[k],
                    precision,
                    recall,
                    precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall),
                    support
                )
            );
        }
        return result;
    }

    /// <summary>Residual (actual − predicted) summary and a 20-bin histogram.</summary>
    public static (ResidualSummary Summary, List<HistogramBin> Histogram) Residuals(
        ReadOnlySpan<double> actual,
        ReadOnlySpan<double> predicted,
        int bins = 20
    )
    {
        var r = new double[actual.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = actual[i] - predicted[i];
        Array.Sort(r);
        double mean = r.Average();
        double std = r.Length > 1 ? Math.Sqrt(r.Sum(v => (v - mean) * (v - mean)) / (r.Length - 1)) : 0;
        var summary = new ResidualSummary(
            mean,
            std,
            MetricFunctions.Mae(actual, predicted),
            MetricFunctions.Rmse(actual, predicted),
            r[0],
            SortedValues.Quantile(r, 0.05),
            SortedValues.Quantile(r, 0.25),
            SortedValues.Quantile(r, 0.5),
            SortedValues.Quantile(r, 0.75),
            SortedValues.Quantile(r, 0.95),
            r[^1]
        );
        var histogram = new List<HistogramBin>();
        double lo = r[0],
            hi = r[^1],
            width = hi > lo ? (hi - lo) / bins : 1;
        var counts = new int[bins];
        foreach (double v in r)
            counts[Math.Clamp((int)((v - lo) / width), 0, bins - 1)]++;
        for (int b = 0; b < bins; b++)
            histogram.Add(new HistogramBin(lo + b * width, lo + (b + 1) * width, counts[b]));
        return (summary, histogram);
    }
}
