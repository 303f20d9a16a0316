using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Pipelines.Batch;
using Mlops.Serving.Batch;

namespace Mlops.Functions.Functions.Durable;

/// <summary>
/// The batch scoring orchestrator and its activities, each one line that hands over to the durabletask-dotnet class
/// (as <see cref="DurableFunctions"/> does for the pipelines), so the Durable extension runs the code the tests run.
/// </summary>
public sealed class BatchDurableFunctions
{
    /// <summary>The job orchestration.</summary>
    [Function(nameof(BatchScoring))]
    public Task<BatchResult> BatchScoring([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new BatchScoring().RunAsync(context, context.GetInput<BatchJobRequest>()!);

    /// <summary>Plans a job.</summary>
    [Function(nameof(PlanBatch))]
    public Task<BatchPlan> PlanBatch([ActivityTrigger] BatchJobRequest input, FunctionContext f) =>
        Create<PlanBatch>(f).RunAsync(new Context(nameof(PlanBatch), f), input);

    /// <summary>Scores a chunk.</summary>
    [Function(nameof(ScoreChunk))]
    public Task<ChunkResult> ScoreChunk([ActivityTrigger] ScoreChunkRequest input, FunctionContext f) =>
        Create<ScoreChunk>(f).RunAsync(new Context(nameof(ScoreChunk), f), input);

    /// <summary>Writes the job's errors file, manifest and combined file.</summary>
    [Function(nameof(FinishBatch))]
    public Task<BatchResult> FinishBatch([ActivityTrigger] FinishBatchRequest input, FunctionContext f) =>
        Create<FinishBatch>(f).RunAsync(new Context(nameof(FinishBatch), f), input);

    private static T Create<T>(FunctionContext f) => ActivatorUtilities.CreateInstance<T>(f.InstanceServices);

    /// <summary>The activity context durabletask-dotnet classes expect, from the invocation's binding data.</summary>
    private sealed class Context(string name, FunctionContext f) : TaskActivityContext
    {
        public override TaskName Name => new(name);
        public override string InstanceId =>
            f.BindingContext.BindingData.TryGetValue("instanceId", out var id) ? id?.ToString() ?? "" : "";
    }
}
