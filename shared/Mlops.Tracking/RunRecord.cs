using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.Tracking;

/// <summary>Status of a finished trial.</summary>
public static class RunStatus
{
    public const string Completed = "completed";
    public const string Pruned = "pruned";
    public const string Failed = "failed";
}

/// <summary>
/// One tracked run as the run index holds it: everything the runs table shows and filters on, so a listing is one
/// table query instead of a blob read per run. Serialized camelCase; params keep their own names.
/// </summary>
public record RunRecord
{
    /// <summary><c>{pipeline}-t{n}</c>, or <c>{pipeline}-t{n}-r{rung}</c> for a rung of an adaptive sweep.</summary>
    public required string RunId { get; init; }
    public string? Dataset { get; init; }

    /// <summary>The pipeline (orchestration instance) that ran the trial.</summary>
    public required string Pipeline { get; init; }

    /// <summary>Trial number inside the pipeline, from the run id.</summary>
    public int? Trial { get; init; }

    /// <summary>Rung of an adaptive sweep, from the run id.</summary>
    public int? Rung { get; init; }

    /// <summary>grid, random, adaptive, … or null for a single trial.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)] // the table's columns are always present, null when empty
    public string? SweepMethod { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Stage { get; init; }
    public string? Trainer { get; init; }
    public string? Task { get; init; }

    /// <summary><see cref="RunStatus"/>: completed, pruned or failed.</summary>
    public string Status { get; init; } = RunStatus.Completed;

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public int? PrunedAtRound { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? PruneReason { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public double? TrainSeconds { get; init; }

    /// <summary>The metric the pipeline chose the best trial by, and its direction.</summary>
    public string? PrimaryMetric { get; init; }
    public bool? HigherIsBetter { get; init; }
    public Dictionary<string, JsonElement> Params { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Validation metrics at the end of training.</summary>
    public Dictionary<string, double> Metrics { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Per curve metric (e.g. logloss), the per-round validation curve summarized.</summary>
    public Dictionary<string, CurveSummary> Curves { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The primary metric's value, or null.</summary>
    public double? Objective => PrimaryMetric is not null && Metrics.TryGetValue(PrimaryMetric, out var v) ? v : null;
}

/// <summary>A per-round curve summarized: best (by the metric's direction), last, min, max, and the round of the
/// best.</summary>
public sealed record CurveSummary(double Best, double Last, double Min, double Max, int BestRound);

/// <summary>
/// One round of a run's learning curve: one line of <c>metrics.jsonl</c>, written by <see cref="RunRecorder"/> and read
/// by
/// <see cref="RunArtifacts"/>. <c>Elapsed</c> is absent in older runs; a line without a round or a train value is not a
/// point (the reader skips it).
/// </summary>
/// <param name="Round">The boosting round (1-based).</param>
/// <param name="Train">The curve metric on the training rows.</param>
/// <param name="Validation">The curve metric on the validation rows, when there are any.</param>
/// <param name="Elapsed">Seconds since training started.</param>
/// <param name="Metric">The curve metric: logloss, rmse, ….</param>
public sealed record CurvePoint(
    [property: JsonRequired] int Round,
    [property: JsonRequired] double Train,
    double? Validation,
    double? Elapsed,
    string? Metric
);

/// <summary>Which way is better for a metric, by name.</summary>
public static class MetricDirection
{
    private static readonly HashSet<string> Higher = new(StringComparer.OrdinalIgnoreCase)
    {
        "auc",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "macro_f1",
        "micro_f1",
        "r2",
        "balanced_accuracy",
        "ndcg",
        "map",
    };

    /// <summary>True for scores (auc, accuracy, r2…); false for losses and errors (logloss, rmse, mae…).</summary>
    public static bool HigherIsBetter(string metric) => Higher.Contains(metric);
}
