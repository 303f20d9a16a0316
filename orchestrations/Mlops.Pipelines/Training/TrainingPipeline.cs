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

        context.SetCustomStatus(new PipelineProgress("ingest", $"Ingesting data for '{dataset}' ({input.Trigger.Kind})."));
        var ingest = await context.CallActivityAsync<IngestResult>(PipelineActivities.Ingest, input, Retry);
        if (ingest.Error is { } error)
        {
            context.SetCustomStatus(new PipelineProgress("failed", error, ingest.DataHash));
            throw new PipelineInputException(error);
        }
        if (!ingest.IsNew && input.Trigger.Kind == "drop")
        {
            var same = new PipelineResult(dataset, "unchanged", ingest.DataHash, null, false,
                $"Identical data (sha256 {ingest.DataHash[..12]}) was already ingested: no new data version and no training run.");
            context.SetCustomStatus(new PipelineProgress("done", same.Message, ingest.DataHash));
            return same;
        }

        context.SetCustomStatus(new PipelineProgress("validate", $"Validating data version {Short(ingest.DataHash)}.", ingest.DataHash));
        var validation = await context.CallActivityAsync<ValidationResult>(PipelineActivities.Validate, new ValidateRequest(dataset, ingest.DataHash, ingest.Config, context.InstanceId), Retry);
        if (!validation.Passed)
        {
            context.SetCustomStatus(new PipelineProgress("rejected", validation.Summary, ingest.DataHash));
            await AlertAsync(context, ingest.Config, new Data.Alerts.Alert("error", "data_quarantined", "validation", validation.Summary, dataset,
                ReportLink: validation.ReportLocation, Window: ingest.DataHash, Time: context.CurrentUtcDateTime));
            throw new DataRejectedException(
                $"Data version {Short(ingest.DataHash)} of '{dataset}' was rejected and quarantined ({validation.Errors} error(s)): {validation.Summary} Report: {validation.ReportLocation}.");
        }

        var trials = await RunTrialsAsync(context, ingest);
        var best = Best(trials);
        log.LogInformation("Pipeline {Instance}: best of {Count} trial(s) is {Run} ({Metric}={Value})", context.InstanceId, trials.Count, best.RunId, best.PrimaryMetric, best.PrimaryValue);

        context.SetCustomStatus(new PipelineProgress("evaluate", $"Evaluating {best.RunId} against production on held-out data.", ingest.DataHash));
        var evaluation = await context.CallActivityAsync<EvaluationResult>(PipelineActivities.Evaluate, new EvaluateRequest(dataset, best, ingest.TrainingHashes, ingest.Config), Retry);

        context.SetCustomStatus(new PipelineProgress("register", "Registering the model version.", ingest.DataHash));
        int version = await context.CallActivityAsync<int>(PipelineActivities.Register,
            new RegisterRequest(dataset, context.InstanceId, best.RunId, ingest.DataHash, ingest.TrainingHashes, input.Trigger, evaluation, best, trials.Count, ingest.Config.Task, ingest.Config), Retry);

        if (!evaluation.GatePassed)
        {
            await AlertAsync(context, ingest.Config, new Data.Alerts.Alert("warning", "gate_rejected", evaluation.PrimaryMetric,
                $"Version {version} of '{dataset}' was not promoted: {string.Join(" ", evaluation.GateReasons)}", Model: dataset,
                Values: evaluation.CandidateMetrics, Thresholds: evaluation.ProductionMetrics, Window: $"v{version}", Time: context.CurrentUtcDateTime));
            var kept = new PipelineResult(dataset, "gate-rejected", ingest.DataHash, version, false,
                $"Version {version} was registered but not promoted: {string.Join(" ", evaluation.GateReasons)}", evaluation.CandidateMetrics, trials.Count, validation.Summary);
            context.SetCustomStatus(new PipelineProgress("done", kept.Message, ingest.DataHash, version));
            return kept;
        }

        if (ingest.Config.Approval == "manual")
        {
            await context.CallActivityAsync(PipelineActivities.RequestApproval, new ApprovalRequest(dataset, version, context.InstanceId), Retry);
            context.SetCustomStatus(new PipelineProgress("awaiting-approval",
                $"Version {version} passed the gate and waits for POST /api/models/{dataset}/versions/{version}/approve (or /reject), until {context.CurrentUtcDateTime + ingest.Config.ApprovalTimeout:u}.", ingest.DataHash, version));
            ApprovalDecision decision;
            try { decision = await context.WaitForExternalEvent<ApprovalDecision>(ApprovalEvent, ingest.Config.ApprovalTimeout); }
            catch (TaskCanceledException) { decision = new ApprovalDecision(false, "timeout", $"No decision within {ingest.Config.ApprovalTimeout}."); }
            await context.CallActivityAsync(PipelineActivities.RecordApproval, new ApprovalRecord(dataset, version, decision), Retry);
            if (!decision.Approved)
            {
                var rejected = new PipelineResult(dataset, "approval-rejected", ingest.DataHash, version, false,
                    $"Version {version} was not approved ({decision.By}: {decision.Comment ?? "rejected"}); production is unchanged.", evaluation.CandidateMetrics, trials.Count, validation.Summary);
                context.SetCustomStatus(new PipelineProgress("done", rejected.Message, ingest.DataHash, version));
                return rejected;
            }
        }

        context.SetCustomStatus(new PipelineProgress("promote", $"Promoting version {version} to production.", ingest.DataHash, version));
        await context.CallActivityAsync(PipelineActivities.Promote, new PromoteRequest(dataset, version, "production",
            evaluation.ProductionVersion is null ? "first model for this dataset" : $"gate passed against v{evaluation.ProductionVersion}: {string.Join(" ", evaluation.GateReasons)}",
            $"pipeline:{context.InstanceId}"), Retry);
        var done = new PipelineResult(dataset, "promoted", ingest.DataHash, version, true,
            $"Version {version} is now production ({evaluation.PrimaryMetric}={Fmt(evaluation.CandidateMetrics, evaluation.PrimaryMetric)}).", evaluation.CandidateMetrics, trials.Count, validation.Summary);
        context.SetCustomStatus(new PipelineProgress("done", done.Message, ingest.DataHash, version));
        return done;
    }

    /// <summary>One trial, or a sweep: grid/random fan out in batches of <c>parallelism</c>; adaptive runs successive halving.</summary>
    private static async Task<List<TrialResult>> RunTrialsAsync(TaskOrchestrationContext context, IngestResult ingest)
    {
        var config = ingest.Config;
        string runPrefix = context.InstanceId;
        var baseParams = config.Params ?? new Dictionary<string, JsonElement>();
        if (config.Sweep is not { } sweep)
        {
            context.SetCustomStatus(new PipelineProgress("train", $"Training ({config.Trainer}).", ingest.DataHash));
            var single = await context.CallActivityAsync<TrialResult>(PipelineActivities.Train, new TrialRequest(ingest.Dataset, $"{runPrefix}-t0", ingest.TrainingHashes, config, baseParams), Retry);
            return [single];
        }

        var planned = SweepPlanner.Plan(sweep, baseParams, config.Seed);
        var all = new List<TrialResult>();
        if (sweep.Method != "adaptive")
        {
            for (int start = 0; start < planned.Count; start += sweep.Parallelism)
            {
                context.SetCustomStatus(new PipelineProgress("train", $"Sweep ({sweep.Method}): trials {start + 1}-{Math.Min(planned.Count, start + sweep.Parallelism)} of {planned.Count}.", ingest.DataHash));
                var batch = planned.Skip(start).Take(sweep.Parallelism).Select((p, i) =>
                    context.CallActivityAsync<TrialResult>(PipelineActivities.Train, new TrialRequest(ingest.Dataset, $"{runPrefix}-t{start + i}", ingest.TrainingHashes, config, p), Retry));
                all.AddRange(await Task.WhenAll(batch));
            }
            return all;
        }

        // Adaptive: every configuration gets a small budget; the best third continues with three times the budget.
        int fullRounds = baseParams.TryGetValue("num_rounds", out var nr) && nr.TryGetInt32(out int n) ? n : 100;
        int rungs = SweepPlanner.RungCount(planned.Count);
        var alive = planned.Select((p, i) => (Index: i, Params: p)).ToList();
        for (int rung = 0; rung < rungs; rung++)
        {
            int budget = SweepPlanner.RungBudget(fullRounds, rung, rungs);
            context.SetCustomStatus(new PipelineProgress("train", $"Sweep (adaptive): rung {rung + 1}/{rungs}, {alive.Count} trial(s) at {budget} rounds.", ingest.DataHash));
            var results = new List<(int Index, Dictionary<string, JsonElement> Params, TrialResult Result)>();
            for (int start = 0; start < alive.Count; start += sweep.Parallelism)
            {
                var batch = alive.Skip(start).Take(sweep.Parallelism).ToList();
                var done = await Task.WhenAll(batch.Select(t =>
                {
                    var p = new Dictionary<string, JsonElement>(t.Params) { ["num_rounds"] = JsonSerializer.SerializeToElement(budget) };
                    return context.CallActivityAsync<TrialResult>(PipelineActivities.Train,
                        new TrialRequest(ingest.Dataset, $"{runPrefix}-t{t.Index}-r{rung}", ingest.TrainingHashes, config, p, $"rung {rung + 1}/{rungs}"), Retry);
                }));
                results.AddRange(batch.Zip(done, (t, r) => (t.Index, t.Params, r)));
            }
            all.AddRange(results.Select(r => r.Result));
            if (rung == rungs - 1) break;
            int keep = Math.Max(1, results.Count / SweepPlanner.AdaptiveEta);
            alive = results.OrderByDescending(r => Score(r.Result)).ThenBy(r => r.Index).Take(keep).Select(r => (r.Index, r.Params)).ToList();
        }
        // The final rung's trials had the full budget; choose among them so a short-budget fluke cannot win.
        return all.Where(t => t.RunId.EndsWith($"-r{rungs - 1}", StringComparison.Ordinal)).ToList() is { Count: > 0 } final ? final : all;
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

    private static double Score(TrialResult t) => t.HigherIsBetter ? t.PrimaryValue : -t.PrimaryValue;

    private static TrialResult Best(IReadOnlyList<TrialResult> trials) =>
        trials.OrderByDescending(Score).ThenBy(t => t.RunId, StringComparer.Ordinal).First();

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
    public const string Evaluate = nameof(Activities.EvaluateCandidate);
    public const string Register = nameof(Activities.RegisterModel);
    public const string RequestApproval = nameof(Activities.RequestApproval);
    public const string RecordApproval = nameof(Activities.RecordApproval);
    public const string Promote = nameof(Activities.PromoteModel);
    public const string SendAlert = nameof(Activities.SendAlert);
}
