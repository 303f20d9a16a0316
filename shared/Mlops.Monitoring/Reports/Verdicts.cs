using Mlops.Data.Drift;
using Mlops.ML.Metrics;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Reports;

/// <summary>Turns the analyses into one verdict per signal (the lines of the CLI table and the alert
/// payloads).</summary>
public static class Verdicts
{
    /// <summary>Performance drop (in the metric's own direction) that the performance verdicts call a breach when no
    /// retraining condition names one.</summary>
    public const double DefaultPerformanceDrop = 0.02;

    /// <summary>Verdicts of a run.</summary>
    public static IReadOnlyList<Verdict> For(
        ReferenceProfile reference,
        MonitoringOptions options,
        DataDriftResult drift,
        PredictionDriftResult predictionDrift,
        DataQualityResult quality,
        PerformanceResult performance,
        EstimatedPerformance? estimated
    )
    {
        var list = new List<Verdict>
        {
            drift.Tested == 0
                ? new(
                    "data_drift",
                    "insufficient_data",
                    null,
                    drift.ShareThreshold,
                    "No feature had enough values to test."
                )
                : new(
                    "data_drift",
                    drift.Breached ? "breach" : "ok",
                    drift.Share,
                    drift.ShareThreshold,
                    $"{drift.Drifted} of {drift.Tested} features drifted ({drift.Share:P0}; dataset drift at {drift.ShareThreshold:P0})"
                        + (
                            drift.Drifted > 0
                                ? ": "
                                    + string.Join(
                                        ", ",
                                        drift.Features.Where(f => f.Drifted).Take(8).Select(f => f.Column)
                                    )
                                : ""
                        )
                        + "."
                ),
            predictionDrift.Score is { } s
                ? new(
                    "prediction_drift",
                    s.InsufficientData ? "insufficient_data"
                        : predictionDrift.Breached ? "breach"
                        : "ok",
                    s.PValue ?? s.Statistic,
                    s.Threshold,
                    $"Score {Describe(s)}"
                        + (predictionDrift.Labels is { } l ? $"; predicted classes {Describe(l)}" : "")
                        + "."
                )
                : new("prediction_drift", "insufficient_data", null, null, "No scores in the window."),
            new(
                "data_quality",
                quality.Breached ? "breach" : "ok",
                quality.Features.Count(f => f.Breached),
                0,
                quality.Breached
                    ? string.Join(
                        "; ",
                        quality.Features.Where(f => f.Breached).Take(5).Select(f => $"{f.Column}: {f.Problems[0]}")
                    ) + "."
                    : "Served inputs are within the training data's quality limits."
            ),
        };
        var (metric, _) = PrimaryMetric(reference);
        double limit = options.Retrain?.When.FirstOrDefault(c => c.Signal == "performance")?.Drop
            ?? DefaultPerformanceDrop;
        string? watched = options.Retrain?.When.FirstOrDefault(c => c.Signal == "performance")?.Metric ?? metric;
        list.Add(
            performance.Sufficient
                ? MetricVerdict(
                    "performance",
                    watched,
                    performance.Metrics,
                    reference.Metrics,
                    limit,
                    $"on {performance.Labels} joined labels"
                )
                : new(
                    "performance",
                    "insufficient_data",
                    performance.Labels,
                    performance.MinLabels,
                    $"Insufficient labels: {performance.Labels} joined, {performance.MinLabels} needed."
                )
        );
        if (estimated is not null)
            list.Add(
                MetricVerdict(
                    "estimated_performance",
                    estimated.Metrics.ContainsKey(watched) ? watched : "accuracy",
                    estimated.Metrics,
                    reference.Metrics,
                    limit,
                    $"estimated by CBPE on {estimated.Rows} predictions"
                )
            );
        return list;
    }

    private static Verdict MetricVerdict(
        string signal,
        string metric,
        IReadOnlyDictionary<string, double> current,
        IReadOnlyDictionary<string, double> reference,
        double limit,
        string basis
    )
    {
        if (!current.TryGetValue(metric, out double value) || double.IsNaN(value))
            return new(signal, "insufficient_data", null, limit, $"No {metric} {basis}.");
        if (!reference.TryGetValue(metric, out double baseline))
            return new(
                signal,
                "ok",
                null,
                limit,
                $"{metric} {value:0.####} {basis}; the model has no reference {metric} to compare with."
            );
        double drop = RetrainPolicy.Drop(metric, value, baseline);
        return new(
            signal,
            drop >= limit ? "breach" : "ok",
            drop,
            limit,
            $"{metric} {value:0.####} {basis} vs {baseline:0.####} at training (drop {drop:0.####}, limit {limit:0.####})."
        );
    }

    private static (string Name, bool HigherIsBetter) PrimaryMetric(ReferenceProfile reference) =>
        EvaluationReport.PrimaryFor(reference.ParsedTask);

    private static string Describe(Data.Validation.DriftResult r) =>
        $"{(r.Drifted ? "drifted" : "stable")} ({r.Method.ToString().ToLowerInvariant()} {(DriftDetector.IsPValueMethod(r.Method) ? $"p={r.PValue:G3}" : $"{r.Statistic:0.###}")}, threshold {r.Threshold:G3})";
}
