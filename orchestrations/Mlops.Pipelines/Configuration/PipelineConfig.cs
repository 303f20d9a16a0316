using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.Pipelines.Configuration;

/// <summary>
/// The per-dataset settings, read from <c>incoming/{dataset}/mlops.json</c> next to the data. Only <see cref="Target"/>
/// and <see cref="Task"/> are required; everything else has a default a data scientist would expect.
/// </summary>
public sealed record PipelineConfig
{
    /// <summary>The label column to predict.</summary>
    public string Target { get; init; } = "";

    /// <summary><c>binary</c>, <c>multiclass</c> or <c>regression</c>.</summary>
    public string Task { get; init; } = "";

    /// <summary><c>auto</c> (default: tries GBDT and linear, keeps the better), <c>gbdt</c> or <c>linear</c>.</summary>
    public string Trainer { get; init; } = "auto";

    /// <summary>Share of rows held out for evaluation and the promotion gate (default 0.2).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Seed for splits and training, so a re-run on the same data gives the same model.</summary>
    public int Seed { get; init; } = 42;

    /// <summary><c>replace</c> (default: each file is the whole training set) or <c>append</c> (union of accepted
    /// versions).</summary>
    public string Mode { get; init; } = "replace";

    /// <summary>Optional 6-field NCRONTAB for scheduled retraining of this dataset (e.g. <c>0 0 2 * * *</c>).</summary>
    public string? Schedule { get; init; }

    /// <summary><c>auto</c> (default) promotes when the gate passes; <c>manual</c> waits for an approve/reject
    /// call.</summary>
    public string Approval { get; init; } = "auto";

    /// <summary>How long a manual approval may wait before the candidate is rejected (default 24 h).</summary>
    public TimeSpan ApprovalTimeout { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Hyperparameters passed to the trainer (e.g. <c>{"num_rounds": 200, "learning_rate":
    /// 0.1}</c>).</summary>
    public Dictionary<string, JsonElement>? Params { get; init; }

    /// <summary>Optional hyperparameter sweep; each trial runs as a parallel activity.</summary>
    public SweepConfig? Sweep { get; init; }

    /// <summary>Promotion gate against the current production model.</summary>
    public GateConfig Gate { get; init; } = new();

    /// <summary>Validation and drift settings, passed to the data validator as they are.</summary>
    public JsonElement? Validation { get; init; }

    /// <summary>Optional URL that receives a JSON POST when data is quarantined or a run fails.</summary>
    public string? AlertWebhook { get; init; }

    /// <summary>The <c>monitoring</c> section: schedule, window and the declarative retraining policy
    /// (Mlops.Monitoring).</summary>
    public System.Text.Json.JsonElement? Monitoring { get; init; }

    /// <summary>Column whose values define slices for per-slice metrics and the gate's slice check.</summary>
    public string? SliceColumn { get; init; }

    /// <summary>
    /// Binary decision threshold: a number in (0, 1), or <c>"auto"</c> / <c>"auto:accuracy"</c> / <c>"auto:f1"</c> /
    /// <c>"auto:balanced_accuracy"</c> to choose it on validation folds (default 0.5; auto maximizes f1).
    /// </summary>
    public JsonElement? Threshold { get; init; }

    /// <summary>The <see cref="Threshold"/> setting as the ML library's rule (throws <see cref="ArgumentException"/> on
    /// a bad value).</summary>
    public Mlops.ML.Training.ThresholdRule ThresholdRule() =>
        Threshold switch
        {
            null or { ValueKind: JsonValueKind.Null } => Mlops.ML.Training.ThresholdRule.Default,
            { ValueKind: JsonValueKind.Number } n => Mlops.ML.Training.ThresholdRule.Fixed(n.GetDouble()),
            { ValueKind: JsonValueKind.String } t => Mlops.ML.Training.ThresholdRule.Parse(t.GetString()!),
            _ => throw new ArgumentException("threshold must be a number between 0 and 1 or \"auto\".", "threshold"),
        };

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; init; }
}

/// <summary>A hyperparameter sweep: grid, random, bayes (TPE) or adaptive (successive halving), optionally with early
/// termination.</summary>
public sealed record SweepConfig
{
    public static readonly IReadOnlyList<string> Methods = ["grid", "random", "bayes", "adaptive"];

    public string Method { get; init; } = "random";

    /// <summary>Most trials to run (random/bayes/adaptive); grid runs the full grid up to this cap.</summary>
    public int MaxTrials { get; init; } = 8;

    /// <summary>Most trials running at once (bayes proposes one batch of this size from the trials finished so
    /// far).</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>Parameter name → list of candidate values (grid/random/bayes) or
    /// {"min":..,"max":..,"log":bool,"int":bool} (random/bayes/adaptive).</summary>
    public Dictionary<string, JsonElement> Parameters { get; init; } = new();

    /// <summary>bayes: trials drawn at random before TPE proposes (default: a third of maxTrials, between 2 and
    /// 10).</summary>
    public int? NStartup { get; init; }

    /// <summary>bayes: share of finished trials that form TPE's "good" density (default 0.25).</summary>
    public double Gamma { get; init; } = 0.25;

    /// <summary>Stops trials that fall behind at rung rounds (any method but adaptive, which has its own
    /// rungs).</summary>
    public EarlyTerminateConfig? EarlyTerminate { get; init; }

    /// <summary>Several objectives: the sweep reports their Pareto front and promotes the best first objective on
    /// it.</summary>
    public List<ObjectiveConfig>? Objectives { get; init; }

    /// <summary>The <see cref="NStartup"/> setting or its default.</summary>
    public int StartupTrials => NStartup ?? Math.Clamp(MaxTrials / 3, 2, 10);
}

/// <summary>
/// Early termination: at rung rounds minIter, minIter·eta, minIter·eta², … a trial's best validation loss so far is
/// compared with the other trials' at the same round. <c>hyperband</c> (asynchronous successive halving) stops it
/// unless it is in the top 1/eta; <c>median</c> stops it when it is worse than the median of the others.
/// </summary>
public sealed record EarlyTerminateConfig
{
    public static readonly IReadOnlyList<string> Types = ["hyperband", "median"];

    public string Type { get; init; } = "hyperband";
    public int MinIter { get; init; } = 10;
    public int Eta { get; init; } = 3;
}

/// <summary>One objective of a multi-objective sweep: a validation metric (e.g. auc, rmse), <c>predict_latency_us</c>
/// or <c>train_seconds</c>.</summary>
public sealed record ObjectiveConfig
{
    public static readonly IReadOnlyList<string> Goals = ["max", "min"];

    public string Metric { get; init; } = "";
    public string Goal { get; init; } = "max";
}

/// <summary>When a candidate may replace production.</summary>
public sealed record GateConfig
{
    /// <summary>Metric compared (default: the task's primary metric: auc, accuracy, rmse).</summary>
    public string? Metric { get; init; }

    /// <summary>Least absolute improvement over production (default 0: not worse).</summary>
    public double MinImprovement { get; init; }

    /// <summary>Least relative improvement over production (default 0).</summary>
    public double MinRelativeImprovement { get; init; }

    /// <summary>Largest drop allowed in any slice's primary metric (default 0.05).</summary>
    public double MaxSliceDrop { get; init; } = 0.05;
}
