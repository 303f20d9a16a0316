using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Mlops.Pipelines.Activities;
using Mlops.Tracking;

namespace Mlops.Pipelines.Training;

/// <summary>
/// The training pipeline: ingest → validate → train (one trial or a sweep fanned out in parallel) → evaluate against
/// production → register → gate → (optional human approval) → promote. Replayed from history, so it holds no I/O and
/// no clocks of its own; every step is an idempotent activity keyed by this instance, so a crash anywhere resumes
/// without duplicating a model version.
/// </summary>
/// <remarks>
/// Activities are called by their class names (<c>nameof</c>), the names <see cref="PipelineRegistration"/> and the
/// Durable Functions classes register them under, as durabletask-dotnet's samples do. Histories in storage hold these
/// names: renaming an activity class would orphan the runs in flight, so the names are part of the stored contract.
/// Retries are the named <see cref="RetryPolicies"/>.
/// </remarks>
public sealed class TrainingPipeline : TaskOrchestrator<TrainingRequest, PipelineResult>
{
    /// <summary>The external event that carries a reviewer's <see cref="ApprovalDecision"/>.</summary>
    public const string ApprovalEvent = "approval";

    public override async Task<PipelineResult> RunAsync(TaskOrchestrationContext context, TrainingRequest input)
    {
        var log = context.CreateReplaySafeLogger(nameof(TrainingPipeline));
        string dataset = input.Dataset;

        context.SetCustomStatus(
            new PipelineProgress("ingest", $"Ingesting data for '{dataset}' ({input.Trigger.Kind}).", Percent: 0)
        );
        var ingest = await context.CallActivityAsync<IngestResult>(nameof(IngestData), input, RetryPolicies.Storage);
        if (ingest.Error is { } error)
        {
            context.SetCustomStatus(new PipelineProgress("failed", error, ingest.DataHash, Percent: 100));
            throw new PipelineInputException(error);
        }
        if (!ingest.IsNew && input.Trigger.Kind == "drop")
        {
            var same = new PipelineResult(
                dataset,
                "unchanged",
                ingest.DataHash,
                null,
                false,
                $"Identical data (sha256 {ingest.DataHash[..12]}) was already ingested: no new data version and no training run."
            );
            context.SetCustomStatus(new PipelineProgress("done", same.Message, ingest.DataHash, Percent: 100));
            return same;
        }

        context.SetCustomStatus(
            new PipelineProgress(
                "validate",
                $"Validating data version {Short(ingest.DataHash)}.",
                ingest.DataHash,
                Percent: 5
            )
        );
        var validation = await context.CallActivityAsync<ValidationResult>(
            nameof(ValidateData),
            new ValidateRequest(dataset, ingest.DataHash, ingest.Config, context.InstanceId),
            RetryPolicies.Storage
        );
        var dataAlert = new Data.Alerts.Alert(
            validation.Passed ? Data.Alerts.AlertSeverity.Warning : Data.Alerts.AlertSeverity.Error,
            "data_" + validation.Outcome,
            "validation",
            validation.Summary,
            dataset,
            ReportLink: validation.ReportLocation,
            Window: ingest.DataHash,
            Time: context.CurrentUtcDateTime
        );
        if (!validation.Passed)
        {
            context.SetCustomStatus(
                new PipelineProgress("rejected", validation.Summary, ingest.DataHash, Percent: 100)
            );
            await AlertAsync(context, ingest.Config, dataAlert);
            throw new DataRejectedException(
                $"Data version {Short(ingest.DataHash)} of '{dataset}' was rejected and quarantined ({validation.Errors} error(s)): {validation.Summary} Report: {validation.ReportLocation}."
            );
        }

        // A warning alert (validation.alertOnWarning) is delivered while the run trains; the run awaits it before it
        // ends.
        var warningAlert = validation.AlertOnWarning
            ? AlertAsync(context, ingest.Config, dataAlert)
            : Task.CompletedTask;
        var training = await TrainingStage.RunAsync(context, ingest);
        var trials = training.Trials;
        var best = training.Chosen;
        log.LogInformation(
            "Pipeline {Instance}: best of {Count} trial(s) is {Run} ({Metric}={Value})",
            context.InstanceId,
            trials.Count,
            best.RunId,
            best.PrimaryMetric,
            best.PrimaryValue
        );

        context.SetCustomStatus(
            new PipelineProgress(
                "evaluate",
                $"Evaluating {best.RunId} against production on held-out data.",
                ingest.DataHash,
                Percent: 80
            )
        );
        var evaluation = await context.CallActivityAsync<EvaluationResult>(
            nameof(EvaluateCandidate),
            new EvaluateRequest(dataset, best, ingest.TrainingHashes, ingest.Config),
            RetryPolicies.Storage
        );

        context.SetCustomStatus(
            new PipelineProgress("register", "Registering the model version.", ingest.DataHash, Percent: 88)
        );
        int version = await context.CallActivityAsync<int>(
            nameof(RegisterModel),
            new RegisterRequest(
                dataset,
                context.InstanceId,
                best.RunId,
                ingest.DataHash,
                ingest.TrainingHashes,
                input.Trigger,
                evaluation,
                best,
                trials.Count,
                ingest.Config.Task,
                ingest.Config
            ),
            RetryPolicies.Storage
        );

        if (!evaluation.GatePassed)
        {
            await AlertAsync(
                context,
                ingest.Config,
                new Data.Alerts.Alert(
                    Data.Alerts.AlertSeverity.Warning,
                    "gate_rejected",
                    evaluation.PrimaryMetric,
                    $"Version {version} of '{dataset}' was not promoted: {string.Join(" ", evaluation.GateReasons)}",
                    Model: dataset,
                    Values: evaluation.CandidateMetrics,
                    Thresholds: evaluation.ProductionMetrics,
                    Window: $"v{version}",
                    Time: context.CurrentUtcDateTime
                )
            );
            var kept = new PipelineResult(
                dataset,
                "gate-rejected",
                ingest.DataHash,
                version,
                false,
                $"Version {version} was registered but not promoted: {string.Join(" ", evaluation.GateReasons)}",
                evaluation.CandidateMetrics,
                trials.Count,
                validation.Summary,
                training.ParetoFront,
                training.PrunedCount
            );
            context.SetCustomStatus(new PipelineProgress("done", kept.Message, ingest.DataHash, version, Percent: 100));
            await warningAlert;
            return kept;
        }

        if (ingest.Config.Approval == "manual")
        {
            await context.CallActivityAsync(
                nameof(RequestApproval),
                new ApprovalRequest(dataset, version, context.InstanceId),
                RetryPolicies.Storage
            );
            context.SetCustomStatus(
                new PipelineProgress(
                    "awaiting-approval",
                    $"Version {version} passed the gate and waits for POST /api/models/{dataset}/versions/{version}/approve (or /reject), until {context.CurrentUtcDateTime + ingest.Config.ApprovalTimeout:u}.",
                    ingest.DataHash,
                    version,
                    Percent: 92
                )
            );
            ApprovalDecision decision;
            try
            {
                decision = await context.WaitForExternalEvent<ApprovalDecision>(
                    ApprovalEvent,
                    ingest.Config.ApprovalTimeout
                );
            }
            catch (TaskCanceledException)
            {
                decision = new ApprovalDecision(
                    false,
                    "timeout",
                    $"No decision within {ingest.Config.ApprovalTimeout}."
                );
            }
            await context.CallActivityAsync(
                nameof(RecordApproval),
                new ApprovalRecord(dataset, version, decision),
                RetryPolicies.Storage
            );
            if (!decision.Approved)
            {
                var rejected = new PipelineResult(
                    dataset,
                    "approval-rejected",
                    ingest.DataHash,
                    version,
                    false,
                    $"Version {version} was not approved ({decision.By}: {decision.Comment ?? "rejected"}); production is unchanged.",
                    evaluation.CandidateMetrics,
                    trials.Count,
                    validation.Summary,
                    training.ParetoFront,
                    training.PrunedCount
                );
                context.SetCustomStatus(
                    new PipelineProgress("done", rejected.Message, ingest.DataHash, version, Percent: 100)
                );
                await warningAlert;
                return rejected;
            }
        }

        context.SetCustomStatus(
            new PipelineProgress(
                "promote",
                $"Promoting version {version} to production.",
                ingest.DataHash,
                version,
                Percent: 95
            )
        );
        await context.CallActivityAsync(
            nameof(PromoteModel),
            new PromoteRequest(
                dataset,
                version,
                Registry.ModelRegistry.ProductionAlias,
                evaluation.ProductionVersion is null
                    ? "first model for this dataset"
                    : $"gate passed against v{evaluation.ProductionVersion}: {string.Join(" ", evaluation.GateReasons)}",
                $"pipeline:{context.InstanceId}"
            ),
            RetryPolicies.Storage
        );
        var done = new PipelineResult(
            dataset,
            "promoted",
            ingest.DataHash,
            version,
            true,
            $"Version {version} is now production ({evaluation.PrimaryMetric}={Fmt(evaluation.CandidateMetrics, evaluation.PrimaryMetric)}).",
            evaluation.CandidateMetrics,
            trials.Count,
            validation.Summary,
            training.ParetoFront,
            training.PrunedCount
        );
        context.SetCustomStatus(new PipelineProgress("done", done.Message, ingest.DataHash, version, Percent: 100));
        await warningAlert;
        return done;
    }

    /// <summary>Sends an alert durably (retried, then recorded); a receiver that never answers does not stop the
    /// run.</summary>
    private static Task AlertAsync(
        TaskOrchestrationContext context,
        Configuration.PipelineConfig config,
        Data.Alerts.Alert alert
    ) => Activities.DurableAlerts.SendAsync(context, new Activities.AlertRequest(config.AlertWebhook, alert));

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;

    private static string Fmt(Dictionary<string, double> m, string k) =>
        m.TryGetValue(k, out var v) ? v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "?";
}

/// <summary>The run's input is unusable (missing or invalid mlops.json, unreadable data); the message says what to
/// fix.</summary>
public sealed class PipelineInputException(string message) : Exception(message);

/// <summary>The data version failed validation: the run stops before training; the data is quarantined, not
/// lost.</summary>
public sealed class DataRejectedException(string message) : Exception(message);

public sealed record ValidateRequest(
    string Dataset,
    string DataHash,
    Configuration.PipelineConfig Config,
    string InstanceId
);

public sealed record EvaluateRequest(
    string Dataset,
    TrialResult Candidate,
    IReadOnlyList<string> TrainingHashes,
    Configuration.PipelineConfig Config
);

public sealed record ApprovalRequest(string Dataset, int Version, string InstanceId);

public sealed record ApprovalRecord(string Dataset, int Version, ApprovalDecision Decision);
