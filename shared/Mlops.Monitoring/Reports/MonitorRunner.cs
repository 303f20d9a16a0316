using System.Diagnostics;
using Mlops.Core;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Reports;

/// <summary>
/// One monitor run without the orchestration around it: read the window's labels, read the window's log (keeping the
/// predictions those labels name), compute every signal, and return the report. The cost is O(window rows + labels
/// received since the window started); the reference profile replaces the training data.
/// </summary>
public sealed class MonitorRunner(PredictionLogReader log, FeedbackStore feedback)
{
    /// <summary>Computes the report of <paramref name="model"/> for [from, to) against <paramref name="reference"/>.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="runId">Run id recorded in the report.</param>
    /// <param name="reference">Baseline profile.</param>
    /// <param name="referenceVersion">Version the profile belongs to.</param>
    /// <param name="from">Window start.</param>
    /// <param name="to">Window end.</param>
    /// <param name="now">Current time (labels are read up to min(now, to + lookback)).</param>
    /// <param name="options">Monitoring options.</param>
    /// <param name="version">Restrict the window to one served version (null: all).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<MonitorReport> RunAsync(string model, string runId, ReferenceProfile reference, int referenceVersion,
        DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, MonitoringOptions options, int? version = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var joinUntil = Min(now, to + options.Lookback);
        var labels = joinUntil > from ? await feedback.ReadLabelsAsync(model, from, joinUntil, cancellationToken).ConfigureAwait(false) : [];
        var window = await log.ReadAsync(model, reference, from, to, version, labels.Keys.ToHashSet(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
        var report = Compute(model, runId, reference, referenceVersion, window, labels, now, options);
        return report with { Seconds = clock.Elapsed.TotalSeconds, Feedback = report.Feedback with { JoinUntil = joinUntil } };
    }

    /// <summary>The report of an already read window (pure: used by <see cref="RunAsync"/> and tests).</summary>
    public static MonitorReport Compute(string model, string runId, ReferenceProfile reference, int referenceVersion, WindowData window,
        IReadOnlyDictionary<string, string> labels, DateTimeOffset now, MonitoringOptions options)
    {
        var drift = DriftAnalysis.Features(window, options);
        var predictionDrift = DriftAnalysis.Predictions(window, reference, options);
        var quality = QualityAnalysis.Compute(window, options.Quality);
        var performance = PerformanceAnalysis.Compute(window.Labeled, labels, reference, options.MinLabels);
        var estimated = Cbpe.Estimate(window, reference);
        var joinedIds = window.Labeled.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        long unmatched = labels.Keys.Count(id => !joinedIds.Contains(id) && PredictionIds.TryGetTime(id, out var at) && at >= window.From && at < window.To);
        return new MonitorReport
        {
            Model = model, RunId = runId, ReferenceVersion = referenceVersion, GeneratedAt = now,
            Window = WindowSummary.Of(window), DataDrift = drift, PredictionDrift = predictionDrift, DataQuality = quality,
            Performance = performance, EstimatedPerformance = estimated,
            Feedback = new FeedbackJoin(labels.Count, window.Labeled.Count, unmatched, now),
            Distributions = window.Columns.Append(window.Score).Select(FeatureDistribution.Of).OfType<FeatureDistribution>().ToList(),
            Verdicts = Verdicts.For(reference, options, drift, predictionDrift, quality, performance, estimated),
        };
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
