using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.Tracking;

/// <summary>
/// A trial's outcome, stored as its run's <c>result.json</c> (and returned by the train activity): validation metrics,
/// where its model is, and how it ended. <see cref="RunRecorder"/> writes it, <see cref="RunArtifacts"/> reads it.
/// </summary>
/// <param name="RunId">The run: <c>{pipeline}-t{trial}</c> or <c>{pipeline}-t{trial}-r{rung}</c> (<see
/// cref="RunIds"/>).</param>
/// <param name="Params">The parameters the trainer read (not every requested one: an auto run that chose linear has no
/// tree parameter).</param>
/// <param name="Trainer">The trainer that ran: gbdt, linear, forest.</param>
/// <param name="PrimaryMetric">The metric trials are compared by.</param>
/// <param name="PrimaryValue">Its value on the trial's validation rows.</param>
/// <param name="HigherIsBetter">The primary metric's direction.</param>
/// <param name="ValidationMetrics">Every validation metric.</param>
/// <param name="TrainSeconds">Training time.</param>
/// <param name="ModelBlob">The model's blob in the runs container (<c>{runId}/model.json</c>).</param>
/// <param name="Status"><c>completed</c>, or <c>pruned</c> when early termination stopped it (then
/// <see cref="PrunedAtRound"/> and <see cref="PruneReason"/> say where and why).</param>
/// <param name="PrunedAtRound">The round early termination stopped it at.</param>
/// <param name="PruneReason">Why it was stopped.</param>
/// <param name="Objectives">The sweep's objective values (metric → value), when the sweep has
/// <c>objectives</c>.</param>
public sealed record TrialResult(
    string RunId,
    Dictionary<string, JsonElement> Params,
    string Trainer,
    string PrimaryMetric,
    double PrimaryValue,
    bool HigherIsBetter,
    Dictionary<string, double> ValidationMetrics,
    double TrainSeconds,
    string ModelBlob,
    string Status = RunStatus.Completed,
    int? PrunedAtRound = null,
    string? PruneReason = null,
    Dictionary<string, double>? Objectives = null
)
{
    /// <summary>A trial that trained to the end.</summary>
    public const string Completed = RunStatus.Completed;

    /// <summary>A trial early termination stopped.</summary>
    public const string Pruned = RunStatus.Pruned;

    /// <summary>True when early termination stopped the trial.</summary>
    [JsonIgnore]
    public bool IsPruned => Status == Pruned;
}

/// <summary>What a run was asked to do, stored as its <c>params.json</c>.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Dataset">The dataset it trained on.</param>
/// <param name="DataVersions">The content hashes of the data versions in its training set.</param>
/// <param name="Stage">Where in a sweep it ran (e.g. <c>rung 1/3</c>), or null.</param>
/// <param name="Task">binary, multiclass or regression.</param>
/// <param name="Target">The label column.</param>
/// <param name="Trainer">The trainer that ran.</param>
/// <param name="Requested">The parameters the trainer read.</param>
/// <param name="Seed">The split and training seed.</param>
public sealed record RunParameters(
    string RunId,
    string? Dataset,
    IReadOnlyList<string>? DataVersions,
    string? Stage,
    string? Task,
    string? Target,
    string? Trainer,
    Dictionary<string, JsonElement>? Requested,
    int? Seed
);

/// <summary>Where and how a run trained, stored as its <c>env.json</c>.</summary>
/// <param name="CodeVersion">The code version (git commit or <c>MLOPS_CODE_VERSION</c>).</param>
/// <param name="Packages">Package and runtime versions.</param>
/// <param name="Machine">The machine's name.</param>
/// <param name="Cores">Its processor count.</param>
/// <param name="Os">Its operating system.</param>
/// <param name="TrainSeconds">Training time.</param>
/// <param name="TrainRows">Rows trained on.</param>
/// <param name="ValidationRows">Rows validated on.</param>
public sealed record RunEnvironment(
    string? CodeVersion,
    IReadOnlyDictionary<string, string>? Packages,
    string? Machine,
    int? Cores,
    string? Os,
    double? TrainSeconds,
    int? TrainRows,
    int? ValidationRows
);

/// <summary>
/// The head of a sweep's <c>sweep.json</c>: the part every sweep summary has and the run index reads (the method).
/// The training pipeline's summary derives from it, so writer and reader share these names.
/// </summary>
/// <param name="SweepId">The sweep (the pipeline instance that ran it).</param>
/// <param name="Dataset">The dataset.</param>
/// <param name="Method">grid, random, bayes or adaptive.</param>
public record SweepRecord(string SweepId, string Dataset, string Method);
