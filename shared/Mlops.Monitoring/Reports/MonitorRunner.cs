using System.Diagnostics;
using Mlops.Core;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Reports;

/// <summary>
/// One monitor run without the orchestration around it: resolve the baseline, read the window's labels, read the
/// window's log (keeping the predictions those labels name), compute every signal, and return the report. The cost is
/// O(window rows + labels received since the window started); the reference profile replaces the training data. With
/// <c>monitoring.baseline = "previous-window"</c> the window before is read too (twice the log); a pinned dataset's
/// profile is computed on first use and stored (<see cref="DatasetBaselines"/>).
/// </summary>
public sealed class MonitorRunner(PredictionLogReader log, FeedbackStore feedback, DatasetBaselines? datasets = null)
{
    /// <summary>Computes the report of <paramref name="model"/> for [from, to) against the baseline <paramref
    /// name="options"/> name.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="runId">Run id recorded in the report.</param>
    /// <param name="reference">Reference profile of the monitored version (the <c>serving</c> baseline, and the model's
    /// calibration and metrics for any baseline).</param>
    /// <param name="referenceVersion">Version the profile belongs to.</param>
    /// <param name="from">Window start.</param>
    /// <param name="to">Window end.</param>
    /// <param name="now">Current time (labels are read up to min(now, to + lookback)).</param>
    /// <param name="options">Monitoring options.</param>
    /// <param name="version">Restrict the window to one served version (null: all).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <param name="servedModel">The monitored version's model: explains a sample of the window for attribution drift
    /// (null: no attribution drift).</param>
    public async Task<MonitorReport> RunAsync(
        string model,
        string runId,
        ReferenceProfile reference,
        int referenceVersion,
        DateTimeOffset from,
        DateTimeOffset to,
        DateTimeOffset now,
        MonitoringOptions options,
        int? version = null,
        CancellationToken cancellationToken = default,
        Mlops.ML.Models.Model? servedModel = null
    )
    {
        var clock = Stopwatch.StartNew();
        var (baseline, info) = await ResolveBaselineAsync(
                model,
                reference,
                referenceVersion,
                from,
                to,
                options,
                version,
                cancellationToken
            )
            .ConfigureAwait(false);
        var joinUntil = Min(now, to + options.Lookback);
        var labels =
            joinUntil > from
                ? await feedback.ReadLabelsAsync(model, from, joinUntil, cancellationToken).ConfigureAwait(false)
                : [];
        var window = await log.ReadAsync(
                model,
                baseline,
                from,
                to,
                version,
                labels.Keys.ToHashSet(StringComparer.Ordinal),
                cancellationToken
            )
            .ConfigureAwait(false);
        var report = Compute(model, runId, baseline, referenceVersion, window, labels, now, options, servedModel);
        return report with
        {
            Seconds = clock.Elapsed.TotalSeconds,
            Feedback = report.Feedback with { JoinUntil = joinUntil },
            Baseline = info,
        };
    }

    private async Task<(ReferenceProfile Profile, BaselineInfo Info)> ResolveBaselineAsync(
        string model,
        ReferenceProfile reference,
        int referenceVersion,
        DateTimeOffset from,
        DateTimeOffset to,
        MonitoringOptions options,
        int? version,
        CancellationToken ct
    )
    {
        switch (options.Baseline.Kind)
        {
            case BaselineKind.Dataset:
                var (profile, hash) = await (datasets ?? throw DatasetBaselines.NotAvailable())
                    .GetAsync(model, referenceVersion, options.Baseline.Dataset!, ct)
                    .ConfigureAwait(false);
                return (
                    reference.WithDistributionsOf(profile),
                    new BaselineInfo(
                        "dataset",
                        referenceVersion,
                        profile.Rows,
                        hash,
                        null,
                        null,
                        $"dataset version {hash[..Math.Min(12, hash.Length)]} ({profile.Rows:N0} rows) as scored by v{referenceVersion}"
                    )
                );
            case BaselineKind.PreviousWindow:
                var before = from - (to - from);
                var previous = await log.ReadAsync(
                        model,
                        reference,
                        before,
                        from,
                        version,
                        new HashSet<string>(StringComparer.Ordinal),
                        ct
                    )
                    .ConfigureAwait(false);
                return (
                    Baselines.FromWindow(reference, previous),
                    new BaselineInfo(
                        "previous-window",
                        referenceVersion,
                        previous.Rows,
                        null,
                        before,
                        from,
                        $"the previous window {before:u} – {from:u} ({previous.Rows:N0} rows)"
                    )
                );
            default:
                return (
                    reference,
                    new BaselineInfo(
                        "serving",
                        referenceVersion,
                        reference.Rows,
                        null,
                        null,
                        null,
                        $"v{referenceVersion} training data ({reference.Rows:N0} rows)"
                    )
                );
        }
    }

    /// <summary>The report of an already read window (pure: used by <see cref="RunAsync"/> and tests).</summary>
    public static MonitorReport Compute(
        string model,
        string runId,
        ReferenceProfile reference,
        int referenceVersion,
        WindowData window,
        IReadOnlyDictionary<string, string> labels,
        DateTimeOffset now,
        MonitoringOptions options,
        Mlops.ML.Models.Model? servedModel = null
    )
    {
        var drift = DriftAnalysis.Features(window, options);
        var predictionDrift = DriftAnalysis.Predictions(window, reference, options);
        var quality = QualityAnalysis.Compute(window, options.Quality);
        var performance = PerformanceAnalysis.Compute(window.Labeled, labels, reference, options.MinLabels);
        var estimated = Cbpe.Estimate(window, reference);
        var attribution = AttributionAnalysis.Compute(reference, window, servedModel, options);
        var joinedIds = window.Labeled.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        long unmatched = labels.Keys.Count(id =>
            !joinedIds.Contains(id) && PredictionIds.TryGetTime(id, out var at) && at >= window.From && at < window.To
        );
        return new MonitorReport
        {
            Model = model,
            RunId = runId,
            ReferenceVersion = referenceVersion,
            GeneratedAt = now,
            Window = WindowSummary.Of(window),
            DataDrift = drift,
            PredictionDrift = predictionDrift,
            DataQuality = quality,
            Performance = performance,
            EstimatedPerformance = estimated,
            AttributionDrift = attribution,
            Feedback = new FeedbackJoin(labels.Count, window.Labeled.Count, unmatched, now),
            Distributions = window
                .Columns.Append(window.Score)
                .Select(FeatureDistribution.Of)
                .OfType<FeatureDistribution>()
                .ToList(),
            Verdicts = attribution is null
                ? Verdicts.For(reference, options, drift, predictionDrift, quality, performance, estimated)
                :
                [
                    .. Verdicts.For(reference, options, drift, predictionDrift, quality, performance, estimated),
                    new Verdict(
                        "attribution_drift",
                        attribution.Status,
                        attribution.MaxShift,
                        attribution.Threshold,
                        attribution.Message
                    ),
                ],
        };
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
