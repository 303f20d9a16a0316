using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.Tracking;

// The documents the runs API answers (and `mlops runs … --json` prints), serialized camelCase with Mlops.Core.Json.

/// <summary><c>GET /api/runs</c>: one page of the matching runs, the total, and the columns present among
/// them.</summary>
public sealed record RunList(int Total, int Offset, int Limit, IReadOnlyList<RunRecord> Runs, RunColumns Columns);

/// <summary>Names of the params, metrics and curve metrics that occur among the matching runs (the table's column
/// chooser).</summary>
public sealed record RunColumns(
    IReadOnlyList<string> Params,
    IReadOnlyList<string> Metrics,
    IReadOnlyList<string> Curves
);

/// <summary>Where a run came from: data versions, code version, pipeline and sweep.</summary>
public sealed record RunLineage(
    IReadOnlyList<string> DataVersions,
    string? CodeVersion,
    string Pipeline,
    string? SweepMethod,
    string? Stage,
    string? Target,
    JsonElement? Seed
);

/// <summary><c>GET /api/runs/{runId}</c>: the index row plus the curve, environment, lineage, evaluation curves and
/// feature importance.</summary>
public sealed record RunDetail : RunRecord
{
    [SetsRequiredMembers]
    public RunDetail(RunRecord record)
        : base(record) { }

    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public JsonElement? Env { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public RunLineage? Lineage { get; init; }

    /// <summary>The run's <c>evaluation.json</c> (ROC/PR/calibration/thresholds, confusion, residuals), or
    /// null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public JsonElement? Evaluation { get; init; }

    /// <summary>The run's <c>importance.json</c>, or null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public JsonElement? Importance { get; init; }
}

/// <summary><c>GET /api/runs/compare</c>: runs side by side, the parameters that differ, and each run's metrics at one
/// step.</summary>
public sealed record RunComparison(
    IReadOnlyList<ComparedRun> Runs,
    IReadOnlyList<ParamDifference> ParamDiff,
    int? Step,
    IReadOnlyList<MetricsAtStep> MetricsAtStep
);

/// <summary>A run in a comparison: its index row, curve, and ROC/PR points when it is a binary classifier.</summary>
public sealed record ComparedRun : RunRecord
{
    [SetsRequiredMembers]
    public ComparedRun(RunRecord record)
        : base(record) { }

    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    public JsonElement? Roc { get; init; }
    public JsonElement? Pr { get; init; }
}

/// <summary>A parameter whose value is not the same in every compared run (null where a run lacks it).</summary>
public sealed record ParamDifference(string Param, IReadOnlyDictionary<string, JsonElement?> Values);

/// <summary>A run's curve at the requested step, or at its nearest earlier round (<see cref="Round"/> says
/// which).</summary>
public sealed record MetricsAtStep(
    string RunId,
    int? Round,
    string? Metric,
    double? Train,
    double? Validation,
    double? Elapsed
);

/// <summary><c>GET /api/runs/groups</c>: runs grouped by a key, with per-metric statistics.</summary>
public sealed record RunGroups(IReadOnlyList<string> By, int Total, IReadOnlyList<RunGroup> Groups);

/// <summary>One group: its key values, the runs in it, and mean ± std (sample, n−1), min and max per metric.</summary>
public sealed record RunGroup(
    IReadOnlyDictionary<string, string?> Key,
    string Label,
    int Count,
    IReadOnlyList<string> RunIds,
    IReadOnlyDictionary<string, MetricStats> Metrics
);

/// <summary>Statistics of one metric over a group's runs that have it.</summary>
public sealed record MetricStats(int Count, double Mean, double Std, double Min, double Max);

/// <summary><c>GET /api/sweeps/{pipelineId}</c>: a sweep's trials, optimization history, parameter importance, and the
/// pipeline's summary.</summary>
public sealed record SweepView(
    string Pipeline,
    string? Dataset,
    string? Method,
    string? Objective,
    bool HigherIsBetter,
    IReadOnlyList<SweepTrial> Trials,
    IReadOnlyList<HistoryPoint> History,
    IReadOnlyList<ParameterImportance> Parameters,
    JsonElement? Summary
);

/// <summary>A trial of a sweep in order (rung, then trial number), with its objective value.</summary>
public sealed record SweepTrial(
    string RunId,
    int? Trial,
    int? Rung,
    string Status,
    int? PrunedAtRound,
    string? PruneReason,
    double? Objective,
    IReadOnlyDictionary<string, JsonElement> Params,
    IReadOnlyDictionary<string, double> Metrics,
    double? TrainSeconds
);

/// <summary>Best objective so far after each trial (pruned trials are shown but do not count).</summary>
public sealed record HistoryPoint(
    int Index,
    string RunId,
    double? Objective,
    double? BestSoFar,
    string? BestRunId,
    bool Pruned
);

/// <summary>
/// How much a parameter explains the objective over the completed trials: <see cref="Importance"/> is its share of
/// the summed variance ratios (η², fANOVA-style main effect), <see cref="Spearman"/> its rank correlation with the
/// objective (numeric parameters only).
/// </summary>
public sealed record ParameterImportance(
    string Name,
    string Kind,
    int Distinct,
    double Importance,
    double VarianceExplained,
    double? Spearman
);
