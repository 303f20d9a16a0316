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
public sealed record TrialRequest(string Dataset, string RunId, IReadOnlyList<string> TrainingHashes, PipelineConfig Config, Dictionary<string, JsonElement> Params, string? Stage = null);

/// <summary>Result of one trial: validation metrics, where its model is, and its curve length.</summary>
public sealed record TrialResult(string RunId, Dictionary<string, JsonElement> Params, string Trainer, string PrimaryMetric, double PrimaryValue, bool HigherIsBetter, Dictionary<string, double> ValidationMetrics, double TrainSeconds, string ModelBlob);

/// <summary>The chosen candidate evaluated on held-out data next to the current production model, with the gate decision.</summary>
public sealed record EvaluationResult(string RunId, Dictionary<string, double> CandidateMetrics, Dictionary<string, double>? ProductionMetrics, int? ProductionVersion, bool GatePassed, IReadOnlyList<string> GateReasons, string PrimaryMetric, JsonElement? GateDecision, JsonElement? Slices);

/// <summary>Input of the register activity.</summary>
public sealed record RegisterRequest(string Dataset, string InstanceId, string RunId, string DataHash, IReadOnlyList<string> TrainingHashes, PipelineTrigger Trigger, EvaluationResult Evaluation, TrialResult Trial, int TrialCount, string? Task = null, Configuration.PipelineConfig? Config = null);

/// <summary>Input of the promote activity.</summary>
public sealed record PromoteRequest(string Dataset, int Version, string Alias, string Reason, string Actor);

/// <summary>Body of the approval external event.</summary>
public sealed record ApprovalDecision(bool Approved, string? By = null, string? Comment = null);

/// <summary>What a finished run reports (orchestration output).</summary>
public sealed record PipelineResult(
    string Dataset, string Outcome, string? DataHash, int? Version, bool Promoted, string Message,
    Dictionary<string, double>? Metrics = null, int Trials = 0, string? ValidationSummary = null);

/// <summary>Progress shown as custom status while the run is going.</summary>
public sealed record PipelineProgress(string Stage, string Message, string? DataHash = null, int? Version = null);
