using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reports;

namespace Mlops.Pipelines.Monitoring;

/// <summary>Starts a <see cref="MonitorModel"/> run.</summary>
/// <param name="Model">Model to monitor.</param>
/// <param name="Trigger"><c>timer</c> (the per-model <c>monitoring.schedule</c>) or <c>manual</c> (<c>POST
/// /api/models/{model}/monitor</c>).</param>
/// <param name="WindowEnd">End of the production window (default: the orchestration's start time).</param>
/// <param name="Version">Only this served version's traffic (default: all traffic, baseline = production
/// version).</param>
public sealed record MonitorRequest(
    string Model,
    string Trigger = "manual",
    DateTimeOffset? WindowEnd = null,
    int? Version = null
);

/// <summary>Input of <see cref="PrepareMonitorRun"/>: the request, the run id and the fixed window end.</summary>
public sealed record PrepareInput(MonitorRequest Request, string RunId, DateTimeOffset WindowEnd);

/// <summary>What the first activity resolved: the run's fixed inputs, so later activities see the same ones on
/// retry.</summary>
/// <param name="Model">Model.</param>
/// <param name="RunId">Run id (the orchestration instance id).</param>
/// <param name="ReferenceVersion">Version whose reference profile is the baseline.</param>
/// <param name="From">Window start.</param>
/// <param name="To">Window end.</param>
/// <param name="Version">Traffic filter.</param>
/// <param name="MonitoringJson">The model's <c>monitoring</c> section (raw JSON, "{}" when absent).</param>
public sealed record MonitorPlan(
    string Model,
    string RunId,
    int ReferenceVersion,
    DateTimeOffset From,
    DateTimeOffset To,
    int? Version,
    string MonitoringJson
);

/// <summary>The computed report, reduced to what the policy and the alerts need.</summary>
/// <param name="ReportBlob">Report JSON blob (<c>monitoring/{model}/{runId}/report.json</c>).</param>
/// <param name="Verdicts">Verdicts of the run.</param>
/// <param name="Signals">Policy inputs (time filled in by the policy step).</param>
public sealed record MonitorOutcome(string ReportBlob, IReadOnlyList<Verdict> Verdicts, MonitorSignals Signals);

/// <summary>Input of <see cref="EvaluateRetrainPolicy"/>.</summary>
public sealed record PolicyInput(MonitorPlan Plan, MonitorOutcome Outcome, DateTimeOffset Now);

/// <summary>Input of <see cref="StartRetraining"/>.</summary>
public sealed record RetrainInput(MonitorPlan Plan, RetrainDecision Decision);

/// <summary>Result of a monitor run (the orchestration output).</summary>
/// <param name="RunId">Run id.</param>
/// <param name="ReportBlob">Report JSON blob.</param>
/// <param name="Verdicts">Signal → status.</param>
/// <param name="Retrain">Whether a retraining started.</param>
/// <param name="Reason">The decision's reason.</param>
/// <param name="RetrainRunId">Started training run, if any.</param>
/// <param name="AlertsSent">Alerts delivered (after de-duplication).</param>
public sealed record MonitorResult(
    string RunId,
    string ReportBlob,
    IReadOnlyDictionary<string, string> Verdicts,
    bool Retrain,
    string Reason,
    string? RetrainRunId,
    int AlertsSent
);

/// <summary>
/// Starts the training pipeline for a model because the monitor's policy said so (trigger kind <c>monitor</c>, with the
/// reason shown in the run list and the new version's lineage). Implemented by the host, which owns the launcher.
/// </summary>
public interface IRetrainLauncher
{
    /// <summary>Starts a retraining of <paramref name="model"/>; returns the training run's id.</summary>
    /// <remarks>Called from an activity (at-least-once): the reason starts with the monitor run id, which an
    /// implementation can use to make a repeated call find the run it already started.</remarks>
    /// <param name="feedbackRows">Blob (in the labels container) of labeled production rows to train on as well, or
    /// null.</param>
    Task<string> StartRetrainingAsync(
        string model,
        string reason,
        string? feedbackRows,
        CancellationToken cancellationToken
    );
}
