using Mlops.Durable;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// Starts the training orchestration. The engine would start a new execution when an id is reused after the run
/// finished, so the launcher checks first: a trigger delivered twice finds the existing run and starts nothing.
/// </summary>
public sealed class DurablePipelineLauncher(DurableClient client) : IPipelineLauncher
{
    public async Task<string> StartTrainingAsync(string dataset, PipelineTrigger trigger, string instanceId, CancellationToken cancellationToken = default)
    {
        if (await client.GetStatusAsync(instanceId, cancellationToken: cancellationToken) is not null) return instanceId;
        try { return await client.StartNewAsync(TrainingPipeline.Name, new TrainingRequest(dataset, trigger), instanceId, cancellationToken); }
        catch (OrchestrationStateException)
        {
            // A racing process started it first; anything else is a real failure for the trigger to retry.
            if (await client.GetStatusAsync(instanceId, cancellationToken: cancellationToken) is not null) return instanceId;
            throw;
        }
    }
}
