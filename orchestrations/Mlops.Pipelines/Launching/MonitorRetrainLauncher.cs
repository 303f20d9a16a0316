using Mlops.Pipelines.Monitoring;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// Closes the monitoring loop: a retraining decision starts the training pipeline with trigger kind <c>monitor</c>
/// and the decision's reason (shown in the run's input and the new version's lineage). Idempotent per monitor run.
/// </summary>
public sealed class MonitorRetrainLauncher(IPipelineLauncher launcher) : IRetrainLauncher
{
    public Task<string> StartRetrainingAsync(
        string model,
        string reason,
        string? feedbackRows,
        CancellationToken cancellationToken
    ) =>
        launcher.StartTrainingAsync(
            model,
            PipelineTrigger.Monitor(reason, feedbackRows),
            PipelineInstanceIds.ForMonitor(model, reason),
            cancellationToken
        );
}
