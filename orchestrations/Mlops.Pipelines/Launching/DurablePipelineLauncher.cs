using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// Starts the training orchestration. Durable Functions starts a new execution when an id is reused after the run
/// finished, so the launcher checks first: a trigger delivered twice finds the existing run and starts nothing. A run
/// still Pending is started again (idempotent: the engine drops a duplicate start of the same instance).
/// </summary>
public sealed class DurablePipelineLauncher(DurableTaskClient client) : IPipelineLauncher
{
    public async Task<string> StartTrainingAsync(string dataset, PipelineTrigger trigger, string instanceId, CancellationToken cancellationToken = default)
    {
        // Pending may mean "start message lost" (the instance row is written first): start it again rather than trust it.
        if (await client.GetInstanceAsync(instanceId, cancellationToken) is { RuntimeStatus: not OrchestrationRuntimeStatus.Pending }) return instanceId;
        try
        {
            return await client.ScheduleNewOrchestrationInstanceAsync(TrainingPipeline.Name, new TrainingRequest(dataset, trigger),
                new StartOrchestrationOptions(instanceId), cancellationToken);
        }
        catch (InvalidOperationException)
        {
            // A racing process started it first; anything else is a real failure for the trigger to retry.
            // Pending may mean "start message lost" (the instance row is written first): start it again rather than trust it.
        if (await client.GetInstanceAsync(instanceId, cancellationToken) is { RuntimeStatus: not OrchestrationRuntimeStatus.Pending }) return instanceId;
            throw;
        }
    }
}
