using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// Starts the training orchestration. Durable Functions starts a new execution when an id is reused after the run
/// finished, so the launcher checks first: a trigger delivered twice finds the existing run and starts nothing.
/// </summary>
public sealed class DurablePipelineLauncher(DurableTaskClient client) : IPipelineLauncher
{
    public async Task<string> StartTrainingAsync(string dataset, PipelineTrigger trigger, string instanceId, CancellationToken cancellationToken = default)
    {
        if (await client.GetInstanceAsync(instanceId, cancellationToken) is not null) return instanceId;
        try
        {
            return await client.ScheduleNewOrchestrationInstanceAsync(TrainingPipeline.Name, new TrainingRequest(dataset, trigger),
                new StartOrchestrationOptions(instanceId), cancellationToken);
        }
        catch (InvalidOperationException)
        {
            // A racing process started it first; anything else is a real failure for the trigger to retry.
            if (await client.GetInstanceAsync(instanceId, cancellationToken) is not null) return instanceId;
            throw;
        }
    }
}
