using Mlops.ML;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Analysis;

/// <summary>Performance estimated without labels.</summary>
/// <param name="Method"><c>cbpe</c>.</param>
/// <param name="Rows">Predictions the estimate is based on.</param>
/// <param name="Calibrated">True when the reference's calibration map was applied (false: raw scores taken as
/// probabilities).</param>
/// <param name="Metrics">Expected accuracy (and, binary, auc, precision, recall, f1).</param>
public sealed record EstimatedPerformance(
    string Method,
    long Rows,
    bool Calibrated,
    IReadOnlyDictionary<string, double> Metrics
);

/// <summary>
/// Confidence-based performance estimation (the idea of NannyML's CBPE): if a calibrated score says a row is positive
/// with probability p, that row contributes p expected true positives (when predicted positive) or p expected false
/// negatives (when predicted negative), and 1 − p of the opposite kind. Summing these expected confusion-matrix cells
/// gives expected accuracy, precision, recall and F1; sweeping the decision threshold over the sorted scores gives the
/// expected ROC curve and its AUC. Valid while the calibration holds, i.e. under covariate shift without concept
/// shift — which is why realized performance replaces it once enough labels arrive.
/// </summary>
public static class Cbpe
{
    /// <summary>Estimate for the window's score distribution; null for regression or an empty window.</summary>
    public static EstimatedPerformance? Estimate(WindowData window, ReferenceProfile reference) =>
        Estimate(window.Score.Sorted ?? [], reference);

    /// <summary>Estimate from raw scores (binary: P(positive); multiclass: winning probability).</summary>
    public static EstimatedPerformance? Estimate(ReadOnlySpan<double> scores, ReferenceProfile reference)
    {
        var task = reference.ParsedTask;
        if (task == MlTask.Regression || scores.IsEmpty)
            return null;
        var calibration = reference.Calibration;
        var p = new double[scores.Length];
        for (int i = 0; i < p.Length; i++)
            p[i] = Math.Clamp(calibration?.Apply(scores[i]) ?? scores[i], 0, 1);
        var metrics = new Dictionary<string, double>();
        if (task == MlTask.Multiclass)
        {
            // The calibrated winning probability is the chance the predicted class is right.
            metrics["accuracy"] = p.Average();
            return new EstimatedPerformance("cbpe", p.Length, calibration is not null, metrics);
        }
        double threshold = reference.Threshold,
            correct = 0;
        for (int i = 0; i < p.Length; i++)
            correct += scores[i] >= threshold ? p[i] : 1 - p[i];
        metrics["accuracy"] = correct / p.Length;
        var predictedPositive = new bool[p.Length];
        for (int i = 0; i < p.Length; i++)
            predictedPositive[i] = scores[i] >= threshold;
        var (precision, recall, f1) = PerformanceAnalysis.PrecisionRecall(p.Zip(predictedPositive));
        metrics["precision"] = precision;
        metrics["recall"] = recall;
        metrics["f1"] = f1;
        metrics["auc"] = ExpectedAuc(scores, p);
        return new EstimatedPerformance("cbpe", p.Length, calibration is not null, metrics);
    }

    /// <summary>
    /// Area under the expected ROC curve: rows sorted by score descending, each tie group moves the curve by
    /// (Σ(1 − p)/N, Σp/P) and the area is summed by trapezoids. NaN when the expected positives or negatives are zero.
    /// </summary>
    public static double ExpectedAuc(ReadOnlySpan<double> scores, ReadOnlySpan<double> probabilities)
    {
        int n = scores.Length;
        var order = new int[n];
        var keys = new double[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            keys[i] = -scores[i];
        }
        Array.Sort(keys, order);
        double positives = 0;
        foreach (var v in probabilities)
            positives += v;
        double negatives = n - positives;
        if (positives <= 0 || negatives <= 0)
            return double.NaN;
        double tp = 0,
            fp = 0,
            area = 0;
        int k = 0;
        while (k < n)
        {
            int j = k;
            double groupTp = 0,
                groupFp = 0;
            while (j < n && keys[j] == keys[k])
            {
                groupTp += probabilities[order[j]];
                groupFp += 1 - probabilities[order[j]];
                j++;
            }
            area += groupFp / negatives * (tp + groupTp / 2) / positives;
            tp += groupTp;
            fp += groupFp;
            k = j;
        }
        return area;
    }
}
