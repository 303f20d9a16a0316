using System.Text.Json;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;
using Mlops.Tracking;

namespace Mlops.Pipelines.Training;

/// <summary>Input of the training pipeline orchestration.</summary>
public sealed record TrainingRequest(string Dataset, PipelineTrigger Trigger);

/// <summary>Output of the ingest activity: the content-addressed data version and whether it is new.</summary>
/// <remarks><see cref="Error"/> carries a user error (bad config, no data): the run fails at once with it, without
/// retries.</remarks>
public sealed record IngestResult(
    string Dataset,
    string DataHash,
    bool IsNew,
    long Rows,
    PipelineConfig Config,
    IReadOnlyList<string> TrainingHashes,
    string? Error = null
);

/// <summary>Output of the validate activity.</summary>
/// <param name="AlertOnWarning">The version passed with warnings and the dataset's <c>validation.alertOnWarning</c> is
/// set: the run sends a warning alert (a quarantine always alerts).</param>
public sealed record ValidationResult(
    string Outcome,
    bool Passed,
    string Summary,
    int Errors,
    int Warnings,
    string? ReportLocation,
    bool AlertOnWarning = false
);

/// <summary>One trial of training: a run with its own id, parameters and (after training) metrics.</summary>
/// <param name="SweepId">The sweep the trial belongs to (the pipeline instance): where early termination compares
/// trials.</param>
public sealed record TrialRequest(
    string Dataset,
    string RunId,
    IReadOnlyList<string> TrainingHashes,
    PipelineConfig Config,
    Dictionary<string, JsonElement> Params,
    string? Stage = null,
    string? SweepId = null
);

/// <summary>The chosen candidate evaluated on held-out data next to the current production model, with the gate
/// decision.</summary>
/// <remarks>The metrics are the trusted evaluation (held-out rows of accepted dataset versions); <see cref="Feedback"/>
/// holds the feedback-set evaluation when the training set had feedback rows. <see cref="GatePassed"/> needs
/// both.</remarks>
public sealed record EvaluationResult(
    string RunId,
    Dictionary<string, double> CandidateMetrics,
    Dictionary<string, double>? ProductionMetrics,
    int? ProductionVersion,
    bool GatePassed,
    IReadOnlyList<string> GateReasons,
    string PrimaryMetric,
    JsonElement? GateDecision,
    JsonElement? Slices,
    FeedbackEvaluation? Feedback = null
);

/// <summary>Both models scored on held-out feedback rows, beside the trusted evaluation, and how many feedback rows
/// were trained on.</summary>
/// <param name="RowsOffered">Feedback rows the monitor run supplied.</param>
/// <param name="RowsUsed">Feedback rows admitted to training after the share cap.</param>
/// <param name="MaxShare">The share cap applied (<c>monitoring.retrain.maxFeedbackShare</c>).</param>
/// <param name="TestRows">Held-out feedback rows scored.</param>
/// <param name="CandidateMetrics">The candidate's metrics on them (null when it could not be scored).</param>
/// <param name="ProductionMetrics">Production's metrics on them (null without production or when it could not be
/// scored).</param>
/// <param name="Passed">Whether the gate passed on the feedback rows.</param>
/// <param name="Reasons">The gate's sentences for the feedback rows.</param>
public sealed record FeedbackEvaluation(
    int RowsOffered,
    int RowsUsed,
    double MaxShare,
    int TestRows,
    Dictionary<string, double>? CandidateMetrics,
    Dictionary<string, double>? ProductionMetrics,
    bool Passed,
    IReadOnlyList<string> Reasons
);

/// <summary>Input of the register activity.</summary>
public sealed record RegisterRequest(
    string Dataset,
    string InstanceId,
    string RunId,
    string DataHash,
    IReadOnlyList<string> TrainingHashes,
    PipelineTrigger Trigger,
    EvaluationResult Evaluation,
    TrialResult Trial,
    int TrialCount,
    string? Task = null,
    Configuration.PipelineConfig? Config = null
);

/// <summary>Input of the promote activity.</summary>
public sealed record PromoteRequest(string Dataset, int Version, string Alias, string Reason, string Actor);

/// <summary>Body of the approval external event.</summary>
public sealed record ApprovalDecision(bool Approved, string? By = null, string? Comment = null);

/// <summary>What a finished run reports (orchestration output).</summary>
/// <param name="ParetoFront">For a multi-objective sweep: the run ids of its Pareto-optimal trials.</param>
/// <param name="PrunedTrials">Trials that early termination stopped.</param>
public sealed record PipelineResult(
    string Dataset,
    string Outcome,
    string? DataHash,
    int? Version,
    bool Promoted,
    string Message,
    Dictionary<string, double>? Metrics = null,
    int Trials = 0,
    string? ValidationSummary = null,
    IReadOnlyList<string>? ParetoFront = null,
    int PrunedTrials = 0
);

/// <summary>Progress shown as custom status while the run is going.</summary>
/// <param name="Percent">0–100, for a progress bar: ingest and validation take the first 10, training up to 80, the
/// rest evaluation to promotion.</param>
/// <param name="Trial">During a sweep: the first trial of the running batch (1-based), of <see cref="Trials"/>.</param>
/// <param name="Round">For the adaptive method: the boosting rounds of the running rung.</param>
public sealed record PipelineProgress(
    string Stage,
    string Message,
    string? DataHash = null,
    int? Version = null,
    int Percent = 0,
    int? Trial = null,
    int? Trials = null,
    int? Round = null
);

/// <summary>
/// A sweep as the dashboard shows it, stored as <c>runs/{sweepId}/sweep.json</c> by <see cref="RunRecorder"/>: the
/// trials in order, the objectives, the Pareto front (multi-objective) and the trial chosen for evaluation. Its head
/// (id, dataset, method) is the <see cref="SweepRecord"/> the run index reads.
/// </summary>
public sealed record SweepSummary(
    string SweepId,
    string Dataset,
    string Method,
    string PrimaryMetric,
    bool HigherIsBetter,
    IReadOnlyList<ObjectiveConfig>? Objectives,
    EarlyTerminateConfig? EarlyTerminate,
    IReadOnlyList<SweepTrial> Trials,
    IReadOnlyList<string> ParetoFront,
    string Chosen
) : SweepRecord(SweepId, Dataset, Method);

/// <summary>One trial in <see cref="SweepSummary"/>.</summary>
public sealed record SweepTrial(
    int Index,
    string RunId,
    Dictionary<string, JsonElement> Params,
    string Status,
    double PrimaryValue,
    Dictionary<string, double>? Objectives,
    int? PrunedAtRound,
    string? PruneReason,
    double TrainSeconds
);
