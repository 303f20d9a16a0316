using Microsoft.DurableTask;
using Mlops.Monitoring.Reports;

namespace Mlops.Pipelines.Monitoring;

/// <summary>
/// One monitor run of one model: resolve the baseline and window, compute and store the report, evaluate the retraining
/// policy (recording the decision), start a retraining when it says so, and send alerts for breaches and decisions.
/// Deterministic: the window end and the decision time come from the replay-safe clock; all I/O is in activities,
/// each retried with back-off and idempotent on retry (fixed artifact names, decision rows keyed by run).
/// </summary>
public sealed class MonitorModel : TaskOrchestrator<MonitorRequest, MonitorResult>
{
    /// <summary>Retries for storage-bound steps: 4 attempts, 2 s doubling.</summary>
    internal static readonly TaskOptions StorageRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(4, TimeSpan.FromSeconds(2), 2.0));

    /// <summary>Alert delivery retries longer (a webhook that is down for minutes still gets the alert).</summary>
    internal static readonly TaskOptions AlertRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(6, TimeSpan.FromSeconds(5), 2.0, TimeSpan.FromMinutes(5)));

    /// <inheritdoc />
    public override async Task<MonitorResult> RunAsync(TaskOrchestrationContext context, MonitorRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var windowEnd = input.WindowEnd ?? context.CurrentUtcDateTime;
        var plan = await context.CallActivityAsync<MonitorPlan>(nameof(PrepareMonitorRun), new PrepareInput(input, context.InstanceId, windowEnd), StorageRetry);
        context.SetCustomStatus(new { step = "computing", plan.From, plan.To });
        var outcome = await context.CallActivityAsync<MonitorOutcome>(nameof(ComputeMonitorReport), plan, StorageRetry);
        var decision = await context.CallActivityAsync<Mlops.Monitoring.Policy.RetrainDecision>(nameof(EvaluateRetrainPolicy),
            new PolicyInput(plan, outcome, context.CurrentUtcDateTime), StorageRetry);
        string? retrainRunId = null;
        if (decision.Retrain)
            retrainRunId = await context.CallActivityAsync<string>(nameof(StartRetraining), new RetrainInput(plan, decision), StorageRetry);

        var alerts = AlertsFor(outcome.Verdicts, decision, retrainRunId);
        int sent = alerts.Count == 0 ? 0
            : await context.CallActivityAsync<int>(nameof(SendMonitorAlerts), new AlertsInput(plan, outcome.ReportBlob, alerts, context.CurrentUtcDateTime), AlertRetry);
        var verdicts = outcome.Verdicts.ToDictionary(v => v.Signal, v => v.Status);
        context.SetCustomStatus(new { step = "done", verdicts, decision.Retrain });
        return new MonitorResult(plan.RunId, outcome.ReportBlob, verdicts, decision.Retrain, decision.Reason, retrainRunId, sent);
    }

    /// <summary>An alert per breached signal, plus one for a retraining started or held back by its guard (pure).</summary>
    internal static IReadOnlyList<MonitorAlert> AlertsFor(IReadOnlyList<Verdict> verdicts, Mlops.Monitoring.Policy.RetrainDecision decision, string? retrainRunId)
    {
        var alerts = verdicts.Where(v => v.Breached)
            .Select(v => new MonitorAlert(v.Signal, v.Signal is "performance" or "estimated_performance" ? "error" : "warning", v.Message, v.Value, v.Threshold))
            .ToList();
        if (decision.Retrain)
            alerts.Add(new MonitorAlert("retrain", "warning", $"Retraining started ({retrainRunId}): {decision.Reason}", null, null));
        else if (decision.SuppressedBy is not null)
            alerts.Add(new MonitorAlert("retrain", "warning", decision.Reason, null, null));
        return alerts;
    }
}
