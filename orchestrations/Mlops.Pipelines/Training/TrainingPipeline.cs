using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Mlops.Pipelines.Sweeps;

namespace Mlops.Pipelines.Training;

/// <summary>
/// The training pipeline: ingest → validate → train (one trial or a sweep fanned out in parallel) → evaluate against
/// production → register → gate → (optional human approval) → promote. Replayed from history, so it holds no I/O and
/// no clocks of its own; every step is an idempotent activity keyed by this instance, so a crash anywhere resumes
/// without duplicating a model version.
/// </summary>
public sealed class TrainingPipeline : TaskOrchestrator<TrainingRequest, PipelineResult>
{
    public const string Name = nameof(TrainingPipeline);
    public const string ApprovalEvent = "approval";

    /// <summary>Storage hiccups are retried; user errors come back as results, never as retried exceptions.</summary>
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(4, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(30)));

    /// <summary>Alerts keep trying for about half an hour: a receiver that is down for a while still gets them.</summary>
    private static readonly TaskOptions AlertRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(8, TimeSpan.FromSeconds(5), 2, TimeSpan.FromMinutes(10)));

    public override async Task<PipelineResult> RunAsync(TaskOrchestrationContext context, TrainingRequest input)
    {
        var log = context.CreateReplaySafeLogger(Name);
        string dataset = input.Dataset;

        context.SetCustomStatus(new PipelineProgress("ingest", $"Ingesting data for '{dataset}' ({input.Trigger.Kind}).", Percent: 0));
        var ingest = await context.CallActivityAsync<IngestResult>(PipelineActivities.Ingest, input, Retry);
        if (ingest.Error is { } error)
        {
            context.SetCustomStatus(new PipelineProgress("failed", error, ingest.DataHash, Percent: 100));
            throw new PipelineInputException(error);
        }
        if (!ingest.IsNew && input.Trigger.Kind == "drop")
        {
            var same = new PipelineResult(dataset, "unchanged", ingest.DataHash, null, false,
                $"Identical data (sha256 {ingest.DataHash[..12]}) was already ingested: no new data version and no training run.");
            context.SetCustomStatus(new PipelineProgress("done", same.Message, ingest.DataHash, Percent: 100));
            return same;
        }

        context.SetCustomStatus(new PipelineProgress("validate", $"Validating data version {Short(ingest.DataHash)}.", ingest.DataHash, Percent: 5));
        var validation = await context.CallActivityAsync<ValidationResult>(PipelineActivities.Validate, new ValidateRequest(dataset, ingest.DataHash, ingest.Config, context.InstanceId), Retry);
        if (!validation.Passed)
        {
            context.SetCustomStatus(new PipelineProgress("rejected", validation.Summary, ingest.DataHash, Percent: 100));
            await AlertAsync(context, ingest.Config, new Data.Alerts.Alert("error", "data_quarantined", "validation", validation.Summary, dataset,
                ReportLink: validation.ReportLocation, Window: ingest.DataHash, Time: context.CurrentUtcDateTime));
            throw new DataRejectedException(
                $"Data version {Short(ingest.DataHash)} of '{dataset}' was rejected and quarantined ({validation.Errors} error(s)): {validation.Summary} Report: {validation.ReportLocation}.");
        }

        var training = await SweepOrchestration.RunAsync(context, ingest, Retry);
        var trials = training.Trials;
        var best = training.Chosen;
        log.LogInformation("Pipeline {Instance}: best of {Count} trial(s) is {Run} ({Metric}={Value})", context.InstanceId, trials.Count, best.RunId, best.PrimaryMetric, best.PrimaryValue);

        context.SetCustomStatus(new PipelineProgress("evaluate", $"Evaluating {best.RunId} against production on held-out data.", ingest.DataHash, Percent: 80));
        var evaluation = await context.CallActivityAsync<EvaluationResult>(PipelineActivities.Evaluate, new EvaluateRequest(dataset, best, ingest.TrainingHashes, ingest.Config), Retry);

        context.SetCustomStatus(new PipelineProgress("register", "Registering the model version.", ingest.DataHash, Percent: 88));
        int version = await context.CallActivityAsync<int>(PipelineActivities.Register,
            new RegisterRequest(dataset, context.InstanceId, best.RunId, ingest.DataHash, ingest.TrainingHashes, input.Trigger, evaluation, best, trials.Count, ingest.Config.Task, ingest.Config), Retry);

        if (!evaluation.GatePassed)
        {
            await AlertAsync(context, ingest.Config, new Data.Alerts.Alert("warning", "gate_rejected", evaluation.PrimaryMetric,
                $"Version {version} of '{dataset}' was not promoted: {string.Join(" ", evaluation.GateReasons)}", Model: dataset,
                Values: evaluation.CandidateMetrics, Thresholds: evaluation.ProductionMetrics, Window: $"v{version}", Time: context.CurrentUtcDateTime));
            var kept = new PipelineResult(dataset, "gate-rejected", ingest.DataHash, version, false,
                $"Version {version} was registered but not promoted: {string.Join(" ", evaluation.GateReasons)}", evaluation.CandidateMetrics, trials.Count, validation.Summary, training.ParetoFront, training.PrunedCount);
            context.SetCustomStatus(new PipelineProgress("done", kept.Message, ingest.DataHash, version, Percent: 100));
            return kept;
        }

        if (ingest.Config.Approval == "manual")
        {
            await context.CallActivityAsync(PipelineActivities.RequestApproval, new ApprovalRequest(dataset, version, context.InstanceId), Retry);
            context.SetCustomStatus(new PipelineProgress("awaiting-approval",
                $"Version {version} passed the gate and waits for POST /api/models/{dataset}/versions/{version}/approve (or /reject), until {context.CurrentUtcDateTime + ingest.Config.ApprovalTimeout:u}.", ingest.DataHash, version, Percent: 92));
            ApprovalDecision decision;
            try { decision = await context.WaitForExternalEvent<ApprovalDecision>(ApprovalEvent, ingest.Config.ApprovalTimeout); }
            catch (TaskCanceledException) { decision = new ApprovalDecision(false, "timeout", $"No decision within {ingest.Config.ApprovalTimeout}."); }
            await context.CallActivityAsync(PipelineActivities.RecordApproval, new ApprovalRecord(dataset, version, decision), Retry);
            if (!decision.Approved)
            {
                var rejected = new PipelineResult(dataset, "approval-rejected", ingest.DataHash, version, false,
                    $"Version {version} was not approved ({decision.By}: {decision.Comment ?? "rejected"}); production is unchanged.", evaluation.CandidateMetrics, trials.Count, validation.Summary, training.ParetoFront, training.PrunedCount);
                context.SetCustomStatus(new PipelineProgress("done", rejected.Message, ingest.DataHash, version, Percent: 100));
                return rejected;
            }
        }

        context.SetCustomStatus(new PipelineProgress("promote", $"Promoting version {version} to production.", ingest.DataHash, version, Percent: 95));
        await context.CallActivityAsync(PipelineActivities.Promote, new PromoteRequest(dataset, version, "production",
            evaluation.ProductionVersion is null ? "first model for this dataset" : $"gate passed against v{evaluation.ProductionVersion}: {string.Join(" ", evaluation.GateReasons)}",
            $"pipeline:{context.InstanceId}"), Retry);
        var done = new PipelineResult(dataset, "promoted", ingest.DataHash, version, true,
            $"Version {version} is now production ({evaluation.PrimaryMetric}={Fmt(evaluation.CandidateMetrics, evaluation.PrimaryMetric)}).", evaluation.CandidateMetrics, trials.Count, validation.Summary, training.ParetoFront, training.PrunedCount);
        context.SetCustomStatus(new PipelineProgress("done", done.Message, ingest.DataHash, version, Percent: 100));
        return done;
    }

    /// <summary>Sends an alert durably; a receiver that never answers costs the run nothing but a logged failure.</summary>
    private static async Task AlertAsync(TaskOrchestrationContext context, Configuration.PipelineConfig config, Data.Alerts.Alert alert)
    {
        try { await context.CallActivityAsync<bool>(PipelineActivities.SendAlert, new Activities.AlertRequest(config.AlertWebhook, alert), AlertRetry); }
        catch (TaskFailedException e)
        {
            context.CreateReplaySafeLogger(Name).LogError("Alert {Kind} for {Dataset} could not be delivered: {Error}", alert.Kind, alert.Dataset, e.Message);
        }
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
    private static string Fmt(Dictionary<string, double> m, string k) => m.TryGetValue(k, out var v) ? v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "?";
}

/// <summary>The run's input is unusable (missing or invalid mlops.json, unreadable data); the message says what to fix.</summary>
public sealed class PipelineInputException(string message) : Exception(message);

/// <summary>The data version failed validation: the run stops before training; the data is quarantined, not lost.</summary>
public sealed class DataRejectedException(string message) : Exception(message);

public sealed record ValidateRequest(string Dataset, string DataHash, Configuration.PipelineConfig Config, string InstanceId);
public sealed record EvaluateRequest(string Dataset, TrialResult Candidate, IReadOnlyList<string> TrainingHashes, Configuration.PipelineConfig Config);
public sealed record ApprovalRequest(string Dataset, int Version, string InstanceId);
public sealed record ApprovalRecord(string Dataset, int Version, ApprovalDecision Decision);

/// <summary>Activity names (the class names, as the registry and Durable Functions name them), in one place.</summary>
public static class PipelineActivities
{
    public const string Ingest = nameof(Activities.IngestData);
    public const string Validate = nameof(Activities.ValidateData);
    public const string Train = nameof(Activities.TrainCandidate);
    public const string RecordSweep = nameof(Activities.RecordSweep);
    public const string Evaluate = nameof(Activities.EvaluateCandidate);
    public const string Register = nameof(Activities.RegisterModel);
    public const string RequestApproval = nameof(Activities.RequestApproval);
    public const string RecordApproval = nameof(Activities.RecordApproval);
    public const string Promote = nameof(Activities.PromoteModel);
    public const string SendAlert = nameof(Activities.SendAlert);
}
