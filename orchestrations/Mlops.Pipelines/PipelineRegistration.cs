using Microsoft.DurableTask;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Batch;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines;

/// <summary>
/// Registers the pipeline's orchestrators and activities with a durabletask-dotnet registry: the local runtime and
/// the orchestrator tests use it; under Durable Functions the <c>[OrchestrationTrigger]</c>/<c>[ActivityTrigger]</c>
/// functions delegate to the same classes. Task names are the class names.
/// </summary>
public static class PipelineRegistration
{
    public static DurableTaskRegistry AddPipelines(this DurableTaskRegistry registry) =>
        registry
            .AddOrchestrator<TrainingPipeline>()
            .AddActivity<IngestData>()
            .AddActivity<ValidateData>()
            .AddActivity<TrainCandidate>()
            .AddActivity<RecordSweep>()
            .AddActivity<EvaluateCandidate>()
            .AddActivity<RegisterModel>()
            .AddActivity<RequestApproval>()
            .AddActivity<RecordApproval>()
            .AddActivity<PromoteModel>()
            .AddOrchestrator<BatchScoring>()
            .AddActivity<PlanBatch>()
            .AddActivity<ScoreChunk>()
            .AddActivity<FinishBatch>()
            .AddAlertDelivery();

    /// <summary>The alert delivery activity both orchestrations call (<see cref="DurableAlerts"/>).</summary>
    public static DurableTaskRegistry AddAlertDelivery(this DurableTaskRegistry registry) =>
        registry.AddActivity<SendAlert>();
}
