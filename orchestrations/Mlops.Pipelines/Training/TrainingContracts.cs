using System.Text.Json;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;

namespace Mlops.Pipelines.Training;

/// <summary>Input of the training pipeline orchestration.</summary>
public sealed record TrainingRequest(string Dataset, PipelineTrigger Trigger);

/// <summary>Output of the ingest activity: the content-addressed data version and whether it is new.</summary>
/// <remarks><see cref="Error"/> carries a user error (bad config, no data): the run fails at once with it, without retries.</remarks>
public sealed record IngestResult(string Dataset, string DataHash, bool IsNew, long Rows, PipelineConfig Config, IReadOnlyList<string> TrainingHashes, string? Error = null);

/// <summary>Output of the validate activity.</summary>
public sealed record ValidationResult(string Outcome, bool Passed, string Summary, int Errors, int Warnings, string? ReportLocation);

/// <summary>One trial of training: a run with its own id, parameters and (after training) metrics.</summary>
/// <param name="SweepId">The sweep the trial belongs to (the pipeline instance): where early termination compares trials.</param>
public sealed record TrialRequest(string Dataset, string RunId, IReadOnlyList<string> TrainingHashes, PipelineConfig Config, Dictionary<string, JsonElement> Params, string? Stage = null, string? SweepId = null);

/// <summary>Result of one trial: validation metrics, where its model is, and its curve length. Stored as the run's <c>result.json</c>.</summary>
/// <param name="Status"><c>completed</c>, or <c>pruned</c> when early termination stopped it (then <see cref="PrunedAtRound"/> and <see cref="PruneReason"/> say where and why).</param>
/// <param name="Objectives">The sweep's objective values (metric → value), when the sweep has <c>objectives</c>.</param>
public sealed record TrialResult(string RunId, Dictionary<string, JsonElement> Params, string Trainer, string PrimaryMetric, double PrimaryValue, bool HigherIsBetter,
    Dictionary<string, double> ValidationMetrics, double TrainSeconds, string ModelBlob,
    string Status = TrialResult.Completed, int? PrunedAtRound = null, string? PruneReason = null, Dictionary<string, double>? Objectives = null)
{
    public const string Completed = "completed";
    public const string Pruned = "pruned";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsPruned => Status == Pruned;
}

/// <summary>The chosen candidate evaluated on held-out data next to the current production model, with the gate decision.</summary>
public sealed record EvaluationResult(string RunId, Dictionary<string, double> CandidateMetrics, Dictionary<string, double>? ProductionMetrics, int? ProductionVersion, bool GatePassed, IReadOnlyList<string> GateReasons, string PrimaryMetric, JsonElement? GateDecision, JsonElement? Slices);

/// <summary>Input of the register activity.</summary>
public sealed record RegisterRequest(string Dataset, string InstanceId, string RunId, string DataHash, IReadOnlyList<string> TrainingHashes, PipelineTrigger Trigger, EvaluationResult Evaluation, TrialResult Trial, int TrialCount, string? Task = null, Configuration.PipelineConfig? Config = null);

/// <summary>Input of the promote activity.</summary>
public sealed record PromoteRequest(string Dataset, int Version, string Alias, string Reason, string Actor);

/// <summary>Body of the approval external event.</summary>
public sealed record ApprovalDecision(bool Approved, string? By = null, string? Comment = null);

/// <summary>What a finished run reports (orchestration output).</summary>
/// <param name="ParetoFront">For a multi-objective sweep: the run ids of its Pareto-optimal trials.</param>
/// <param name="PrunedTrials">Trials that early termination stopped.</param>
public sealed record PipelineResult(
    string Dataset, string Outcome, string? DataHash, int? Version, bool Promoted, string Message,
    Dictionary<string, double>? Metrics = null, int Trials = 0, string? ValidationSummary = null,
    IReadOnlyList<string>? ParetoFront = null, int PrunedTrials = 0);

/// <summary>Progress shown as custom status while the run is going.</summary>
/// <param name="Percent">0–100, for a progress bar: ingest and validation take the first 10, training up to 80, the rest evaluation to promotion.</param>
/// <param name="Trial">During a sweep: the first trial of the running batch (1-based), of <see cref="Trials"/>.</param>
/// <param name="Round">For the adaptive method: the boosting rounds of the running rung.</param>
public sealed record PipelineProgress(string Stage, string Message, string? DataHash = null, int? Version = null,
    int Percent = 0, int? Trial = null, int? Trials = null, int? Round = null);

/// <summary>
/// A sweep as the dashboard shows it, stored as <c>runs/{sweepId}/sweep.json</c>: the trials in order, the objectives,
/// the Pareto front (multi-objective) and the trial chosen for evaluation.
/// </summary>
public sealed record SweepSummary(string SweepId, string Dataset, string Method, string PrimaryMetric, bool HigherIsBetter,
    IReadOnlyList<ObjectiveConfig>? Objectives, EarlyTerminateConfig? EarlyTerminate, IReadOnlyList<SweepTrial> Trials,
    IReadOnlyList<string> ParetoFront, string Chosen);

/// <summary>One trial in <see cref="SweepSummary"/>.</summary>
public sealed record SweepTrial(int Index, string RunId, Dictionary<string, JsonElement> Params, string Status, double PrimaryValue,
    Dictionary<string, double>? Objectives, int? PrunedAtRound, string? PruneReason, double TrainSeconds);
