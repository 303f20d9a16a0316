using Microsoft.DurableTask;
using Mlops.Data.Alerts;
using Mlops.Monitoring;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reports;
using Mlops.Pipelines.Activities;

namespace Mlops.Pipelines.Monitoring;

/// <summary>
/// One monitor run of one model: resolve the baseline and window, compute and store the report, evaluate the retraining
/// policy (recording the decision), start a retraining when it says so, and send alerts for breaches and decisions.
/// Deterministic: the window end and the decision time come from the replay-safe clock; all I/O is in activities,
/// each retried with back-off (<see cref="RetryPolicies"/>) and idempotent on retry (fixed artifact names, decision
/// rows keyed by run).
/// </summary>
public sealed class MonitorModel : TaskOrchestrator<MonitorRequest, MonitorResult>
{
    /// <inheritdoc />
    public override async Task<MonitorResult> RunAsync(TaskOrchestrationContext context, MonitorRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var windowEnd = input.WindowEnd ?? context.CurrentUtcDateTime;
        var plan = await context.CallActivityAsync<MonitorPlan>(
            nameof(PrepareMonitorRun),
            new PrepareInput(input, context.InstanceId, windowEnd),
            RetryPolicies.Storage
        );
        context.SetCustomStatus(
            new
            {
                step = "computing",
                plan.From,
                plan.To,
            }
        );
        var outcome = await context.CallActivityAsync<MonitorOutcome>(
            nameof(ComputeMonitorReport),
            plan,
            RetryPolicies.Storage
        );
        var decision = await context.CallActivityAsync<Mlops.Monitoring.Policy.RetrainDecision>(
            nameof(EvaluateRetrainPolicy),
            new PolicyInput(plan, outcome, context.CurrentUtcDateTime),
            RetryPolicies.Storage
        );
        string? retrainRunId = null;
        if (decision.Retrain)
            retrainRunId = await context.CallActivityAsync<string>(
                nameof(StartRetraining),
                new RetrainInput(plan, decision),
                RetryPolicies.Storage
            );

        // Host-wide sinks only (log, MLOPS_ALERT_WEBHOOK): each alert is delivered, retried and recorded on its own.
        var alerts = AlertsFor(
            plan,
            outcome.ReportBlob,
            outcome.Verdicts,
            decision,
            retrainRunId,
            context.CurrentUtcDateTime
        );
        var delivered = await Task.WhenAll(
            alerts.Select(a => DurableAlerts.SendAsync(context, new AlertRequest(null, a)))
        );
        int sent = delivered.Count(d => d);
        var verdicts = outcome.Verdicts.ToDictionary(v => v.Signal, v => v.Status);
        context.SetCustomStatus(
            new
            {
                step = "done",
                verdicts,
                decision.Retrain,
            }
        );
        return new MonitorResult(
            plan.RunId,
            outcome.ReportBlob,
            verdicts,
            decision.Retrain,
            decision.Reason,
            retrainRunId,
            sent
        );
    }

    /// <summary>
    /// An alert per breached signal (an error for performance, a warning otherwise), plus one for a retraining started
    /// or held back by its guard (pure). The window is part of each alert's key: a (model, signal, window) alerts once.
    /// </summary>
    public static IReadOnlyList<Alert> AlertsFor(
        MonitorPlan plan,
        string reportBlob,
        IReadOnlyList<Verdict> verdicts,
        RetrainDecision decision,
        string? retrainRunId,
        DateTimeOffset now
    )
    {
        string window = $"{plan.From:O}/{plan.To:O}";
        string report = $"{MonitoringStore.DefaultContainer}/{reportBlob}";
        Alert Raise(
            AlertSeverity severity,
            string kind,
            string signal,
            string message,
            double? value,
            double? threshold
        ) =>
            new(
                severity,
                kind,
                signal,
                $"**{plan.Model}** monitor {signal} ({plan.From:u} – {plan.To:u}): {message}",
                Dataset: plan.Model,
                Model: plan.Model,
                Values: value is { } v ? new Dictionary<string, double> { [signal] = v } : null,
                Thresholds: threshold is { } t ? new Dictionary<string, double> { [signal] = t } : null,
                ReportLink: report,
                Window: window,
                Time: now
            );

        var alerts = verdicts
            .Where(v => v.Breached)
            .Select(v =>
                Raise(
                    v.Signal is "performance" or "estimated_performance" ? AlertSeverity.Error : AlertSeverity.Warning,
                    "monitor_breach",
                    v.Signal,
                    v.Message,
                    v.Value,
                    v.Threshold
                )
            )
            .ToList();
        if (decision.Retrain)
            alerts.Add(
                Raise(
                    AlertSeverity.Warning,
                    "retrain_started",
                    "retrain",
                    $"Retraining started ({retrainRunId}): {decision.Reason}",
                    null,
                    null
                )
            );
        else if (decision.SuppressedBy is not null)
            alerts.Add(Raise(AlertSeverity.Warning, "retrain_held_back", "retrain", decision.Reason, null, null));
        return alerts;
    }
}
