using Mlops.Durable;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines;

/// <summary>Registers the pipeline's orchestrators and activities with the orchestration engine.</summary>
public static class PipelineRegistration
{
    public static DurableRegistry AddPipelines(this DurableRegistry registry) => registry
        .AddOrchestrator<TrainingPipeline>(TrainingPipeline.Name)
        .AddActivity<IngestData>(PipelineActivities.Ingest)
        .AddActivity<ValidateData>(PipelineActivities.Validate)
        .AddActivity<TrainCandidate>(PipelineActivities.Train)
        .AddActivity<EvaluateCandidate>(PipelineActivities.Evaluate)
        .AddActivity<RegisterModel>(PipelineActivities.Register)
        .AddActivity<RequestApproval>(PipelineActivities.RequestApproval)
        .AddActivity<RecordApproval>(PipelineActivities.RecordApproval)
        .AddActivity<PromoteModel>(PipelineActivities.Promote);
}
