using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Reports;

/// <summary>One signal's verdict, as alerts and the summary table carry it.</summary>
/// <param name="Signal"><c>data_drift</c>, <c>prediction_drift</c>, <c>data_quality</c>, <c>performance</c>,
/// <c>estimated_performance</c> or <c>attribution_drift</c>.</param>
/// <param name="Status"><c>ok</c>, <c>breach</c> or <c>insufficient_data</c>.</param>
/// <param name="Value">Headline value (drift share, drop, …).</param>
/// <param name="Threshold">Its limit.</param>
/// <param name="Message">One sentence.</param>
public sealed record Verdict(string Signal, string Status, double? Value, double? Threshold, string Message)
{
    /// <summary>True when the signal crossed its limit.</summary>
    public bool Breached => Status == "breach";
}

/// <summary>The window a run read.</summary>
/// <param name="From">Start (inclusive).</param>
/// <param name="To">End (exclusive).</param>
/// <param name="Rows">Predicted rows.</param>
/// <param name="Requests">Log lines.</param>
/// <param name="Versions">Rows per served version.</param>
/// <param name="MalformedLines">Unreadable log lines skipped.</param>
/// <param name="RowsWithoutId">Rows logged without a prediction id.</param>
/// <param name="BytesRead">Log bytes read.</param>
public sealed record WindowSummary(
    DateTimeOffset From,
    DateTimeOffset To,
    long Rows,
    long Requests,
    IReadOnlyDictionary<int, long> Versions,
    long MalformedLines,
    long RowsWithoutId,
    long BytesRead
)
{
    internal static WindowSummary Of(WindowData w) =>
        new(w.From, w.To, w.Rows, w.Lines, w.Versions, w.MalformedLines, w.RowsWithoutId, w.Bytes);
}

/// <summary>Everything one monitor run computed: every statistic, threshold and verdict (<c>report.json</c>).</summary>
public sealed record MonitorReport
{
    /// <summary>Model name.</summary>
    public required string Model { get; init; }

    /// <summary>Run id (also the report folder).</summary>
    public required string RunId { get; init; }

    /// <summary>Version whose reference profile was the baseline.</summary>
    public required int ReferenceVersion { get; init; }

    /// <summary>What the window was compared with (null in reports written before baselines were selectable: the
    /// serving version).</summary>
    public BaselineInfo? Baseline { get; init; }

    /// <summary>When the run computed.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The production window.</summary>
    public required WindowSummary Window { get; init; }

    /// <summary>Per-feature drift and the dataset verdict.</summary>
    public required DataDriftResult DataDrift { get; init; }

    /// <summary>Output drift.</summary>
    public required PredictionDriftResult PredictionDrift { get; init; }

    /// <summary>Quality of served inputs.</summary>
    public required DataQualityResult DataQuality { get; init; }

    /// <summary>Realized performance on joined labels.</summary>
    public required PerformanceResult Performance { get; init; }

    /// <summary>CBPE estimate (classification).</summary>
    public EstimatedPerformance? EstimatedPerformance { get; init; }

    /// <summary>Attribution drift (null when the version has no registration-time importance or no model was
    /// given).</summary>
    public AttributionDriftResult? AttributionDrift { get; init; }

    /// <summary>Labels received for the window (joined or not) and how many matched a window prediction.</summary>
    public required FeedbackJoin Feedback { get; init; }

    /// <summary>Reference and window distributions of each feature and of the score (plots).</summary>
    public IReadOnlyList<FeatureDistribution> Distributions { get; init; } = [];

    /// <summary>One verdict per signal.</summary>
    public required IReadOnlyList<Verdict> Verdicts { get; init; }

    /// <summary>The retraining decision taken on this report (set by the orchestration after the policy ran).</summary>
    public RetrainDecision? Decision { get; init; }

    /// <summary>Seconds the computation took.</summary>
    public double Seconds { get; init; }
}

/// <summary>How feedback met the window.</summary>
/// <param name="LabelsRead">Labels received in the join range.</param>
/// <param name="Joined">Labels whose id matched a window prediction.</param>
/// <param name="UnmatchedInWindow">Labels with a server id dated inside the window that matched no logged prediction
/// (unknown ids).</param>
/// <param name="JoinUntil">End of the arrival range read (min(now, window end + lookback)).</param>
public sealed record FeedbackJoin(long LabelsRead, long Joined, long UnmatchedInWindow, DateTimeOffset JoinUntil);
