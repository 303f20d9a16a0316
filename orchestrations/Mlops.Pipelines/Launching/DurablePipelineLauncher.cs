using Microsoft.DurableTask.Client;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// Starts the training orchestration through <see cref="OrchestrationStarts"/>: a trigger delivered twice finds the
/// existing run and starts nothing (the policy for each state of an existing instance is documented there).
/// </summary>
public sealed class DurablePipelineLauncher(DurableTaskClient client) : IPipelineLauncher
{
    /// <inheritdoc />
    public Task<string> StartTrainingAsync(
        string dataset,
        PipelineTrigger trigger,
        string instanceId,
        CancellationToken cancellationToken = default
    ) =>
        OrchestrationStarts.StartOnceAsync(
            client,
            nameof(TrainingPipeline),
            new TrainingRequest(dataset, trigger),
            instanceId,
            cancellationToken
        );
}
