using System.Globalization;

namespace Mlops.ML.Training;

/// <summary>
/// How a binary model turns its positive-class probability into a label: a fixed threshold (default 0.5), or
/// <c>auto</c> — the threshold that maximizes <see cref="Metric"/> (accuracy, f1 or balanced_accuracy) on out-of-fold
/// validation predictions, stored in the model and used by predict.
/// </summary>
public sealed record ThresholdRule
{
    /// <summary>Metrics <c>auto</c> can maximize.</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["f1", "accuracy", "balanced_accuracy"];

    private ThresholdRule(bool auto, double value, string metric) => (Auto, Value, Metric) = (auto, value, metric);

    /// <summary>True when the threshold is chosen on validation data.</summary>
    public bool Auto { get; }

    /// <summary>The fixed threshold (when not <see cref="Auto"/>).</summary>
    public double Value { get; }

    /// <summary>The metric <see cref="Auto"/> maximizes.</summary>
    public string Metric { get; }

    /// <summary>The usual 0.5.</summary>
    public static ThresholdRule Default { get; } = new(false, 0.5, "f1");

    public static ThresholdRule Fixed(double value) =>
        value is > 0 and < 1
            ? new ThresholdRule(false, value, "f1")
            : throw new ArgumentException($"threshold must be between 0 and 1 (exclusive), got {value}.", "threshold");

    public static ThresholdRule Maximizing(string metric) =>
        Metrics.Contains(metric)
            ? new ThresholdRule(true, 0.5, metric)
            : throw new ArgumentException(
                $"threshold auto can maximize {string.Join(", ", Metrics)}; got '{metric}'.",
                "threshold"
            );

    /// <summary>Parses <c>auto</c> (maximizes f1), <c>auto:accuracy</c>, <c>auto:f1</c>, <c>auto:balanced_accuracy</c>,
    /// or a number in (0, 1).</summary>
    /// <exception cref="ArgumentException">Anything else, with a message listing the accepted forms.</exception>
    public static ThresholdRule Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "auto")
            return Maximizing("f1");
        if (t.StartsWith("auto:", StringComparison.Ordinal))
            return Maximizing(t[5..]);
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            return Fixed(v);
        throw new ArgumentException(
            $"threshold must be \"auto\", \"auto:<metric>\" ({string.Join(", ", Metrics)}) or a number between 0 and 1; got '{text}'.",
            "threshold"
        );
    }

    public override string ToString() => Auto ? $"auto:{Metric}" : Value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The <paramref name="metric"/> of the labels "positive when p ≥ <paramref name="threshold"/>".</summary>
    public static double MetricAt(
        IReadOnlyList<double> probability,
        IReadOnlyList<bool> positive,
        string metric,
        double threshold
    )
    {
        int tp = 0,
            fp = 0,
            positives = 0;
        for (int i = 0; i < probability.Count; i++)
        {
            if (positive[i])
                positives++;
            if (probability[i] >= threshold)
            {
                if (positive[i])
                    tp++;
                else
                    fp++;
            }
        }
        return Score(metric, tp, fp, positives, probability.Count - positives);
    }

    private static double Score(string metric, int tp, int fp, int totalPositive, int totalNegative)
    {
        int fn = totalPositive - tp,
            tn = totalNegative - fp,
            n = totalPositive + totalNegative;
        return metric switch
        {
            "accuracy" => (double)(tp + tn) / n,
            "balanced_accuracy" => 0.5
                * (
                    (totalPositive == 0 ? 0 : (double)tp / totalPositive)
                    + (totalNegative == 0 ? 0 : (double)tn / totalNegative)
                ),
            _ => tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn),
        };
    }

    /// <summary>
    /// The threshold maximizing <paramref name="metric"/> over predictions <paramref name="probability"/> of rows whose
    /// true class is <paramref name="positive"/>: every distinct probability is a candidate ("positive when p ≥ t");
    /// ties keep the candidate nearest 0.5, so a flat optimum does not drift to an extreme. Returns the threshold and
    /// its metric value.
    /// </summary>
    public static (double Threshold, double Value) Choose(
        IReadOnlyList<double> probability,
        IReadOnlyList<bool> positive,
        string metric
    )
    {
        int n = probability.Count;
        if (n == 0)
            return (0.5, double.NaN);
        var order = Enumerable.Range(0, n).OrderByDescending(i => probability[i]).ToArray();
        int totalPositive = positive.Count(p => p),
            totalNegative = n - totalPositive;
        // Threshold above every probability: everything negative.
        double best = Score(metric, 0, 0, totalPositive, totalNegative),
            bestThreshold = Math.Min(1, probability[order[0]] + 1e-9);
        int truePositives = 0,
            falsePositives = 0;
        for (int k = 0; k < n; k++)
        {
            int i = order[k];
            if (positive[i])
                truePositives++;
            else
                falsePositives++;
            // Only cut between distinct probabilities.
            if (k + 1 < n && probability[order[k + 1]] == probability[i])
                continue;
            double score = Score(metric, truePositives, falsePositives, totalPositive, totalNegative),
                threshold = probability[i];
            if (
                score > best + 1e-12
                || (Math.Abs(score - best) <= 1e-12 && Math.Abs(threshold - 0.5) < Math.Abs(bestThreshold - 0.5))
            )
                (best, bestThreshold) = (score, threshold);
        }
        return (bestThreshold, best);
    }
}
