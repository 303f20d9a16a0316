using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Monitoring.Policy;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Launching;
using Mlops.Pipelines.Monitoring;
using Mlops.Pipelines.Training;
using Mlops.Tracking;

namespace Mlops.Functions.Functions.Durable;

/// <summary>
/// The orchestrator and activity functions the Durable extension runs. Each is one line that hands over to the
/// durabletask-dotnet class (the source generator that would write these is not available), so the orchestration code
/// is the same that the orchestrator tests run. Function name = class name = the task name the orchestrators call.
/// </summary>
public sealed class DurableFunctions
{
    [Function(nameof(TrainingPipeline))]
    public Task<PipelineResult> TrainingPipeline([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new TrainingPipeline().RunAsync(context, context.GetInput<TrainingRequest>()!);

    [Function(nameof(MonitorModel))]
    public Task<MonitorResult> MonitorModel([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new MonitorModel().RunAsync(context, context.GetInput<MonitorRequest>()!);

    [Function(nameof(IngestData))]
    public Task<IngestResult> IngestData([ActivityTrigger] TrainingRequest input, FunctionContext f) =>
        Run<IngestData, TrainingRequest, IngestResult>(input, f);

    [Function(nameof(ValidateData))]
    public Task<ValidationResult> ValidateData([ActivityTrigger] ValidateRequest input, FunctionContext f) =>
        Run<ValidateData, ValidateRequest, ValidationResult>(input, f);

    [Function(nameof(TrainCandidate))]
    public Task<TrialResult> TrainCandidate([ActivityTrigger] TrialRequest input, FunctionContext f) =>
        Run<TrainCandidate, TrialRequest, TrialResult>(input, f);

    [Function(nameof(RecordSweep))]
    public Task<bool> RecordSweep([ActivityTrigger] SweepSummary input, FunctionContext f) =>
        Run<RecordSweep, SweepSummary, bool>(input, f);

    [Function(nameof(EvaluateCandidate))]
    public Task<EvaluationResult> EvaluateCandidate([ActivityTrigger] EvaluateRequest input, FunctionContext f) =>
        Run<EvaluateCandidate, EvaluateRequest, EvaluationResult>(input, f);

    [Function(nameof(RegisterModel))]
    public Task<int> RegisterModel([ActivityTrigger] RegisterRequest input, FunctionContext f) =>
        Run<RegisterModel, RegisterRequest, int>(input, f);

    [Function(nameof(RequestApproval))]
    public Task<bool> RequestApproval([ActivityTrigger] ApprovalRequest input, FunctionContext f) =>
        Run<RequestApproval, ApprovalRequest, bool>(input, f);

    [Function(nameof(RecordApproval))]
    public Task<bool> RecordApproval([ActivityTrigger] ApprovalRecord input, FunctionContext f) =>
        Run<RecordApproval, ApprovalRecord, bool>(input, f);

    [Function(nameof(PromoteModel))]
    public Task<bool> PromoteModel([ActivityTrigger] PromoteRequest input, FunctionContext f) =>
        Run<PromoteModel, PromoteRequest, bool>(input, f);

    [Function(nameof(SendAlert))]
    public Task<bool> SendAlert([ActivityTrigger] AlertRequest input, FunctionContext f) =>
        Run<SendAlert, AlertRequest, bool>(input, f);

    [Function(nameof(PrepareMonitorRun))]
    public Task<MonitorPlan> PrepareMonitorRun([ActivityTrigger] PrepareInput input, FunctionContext f) =>
        Run<PrepareMonitorRun, PrepareInput, MonitorPlan>(input, f);

    [Function(nameof(ComputeMonitorReport))]
    public Task<MonitorOutcome> ComputeMonitorReport([ActivityTrigger] MonitorPlan input, FunctionContext f) =>
        Run<ComputeMonitorReport, MonitorPlan, MonitorOutcome>(input, f);

    [Function(nameof(EvaluateRetrainPolicy))]
    public Task<RetrainDecision> EvaluateRetrainPolicy([ActivityTrigger] PolicyInput input, FunctionContext f) =>
        Run<EvaluateRetrainPolicy, PolicyInput, RetrainDecision>(input, f);

    /// <summary>StartRetraining starts a training orchestration, so it also takes the durable client.</summary>
    [Function(nameof(StartRetraining))]
    public Task<string> StartRetraining(
        [ActivityTrigger] RetrainInput input,
        [DurableClient] DurableTaskClient client,
        FunctionContext f
    ) =>
        Run<StartRetraining, RetrainInput, string>(
            input,
            f,
            new MonitorRetrainLauncher(new DurablePipelineLauncher(client))
        );

    /// <summary>
    /// Builds the activity class from the app's services (constructor injection) plus <paramref name="extra"/> — what
    /// depends on the invocation, such as a launcher over its durable client — and runs it.
    /// </summary>
    private static Task<TOut> Run<TActivity, TIn, TOut>(TIn input, FunctionContext f, params object[] extra)
        where TActivity : TaskActivity<TIn, TOut>
    {
        var activity = ActivatorUtilities.CreateInstance<TActivity>(f.InstanceServices, extra);
        return activity.RunAsync(new InvocationActivityContext(typeof(TActivity).Name, f), input);
    }

    /// <summary>The activity context durabletask-dotnet classes expect, from the invocation's binding data.</summary>
    private sealed class InvocationActivityContext(string name, FunctionContext f) : TaskActivityContext
    {
        public override TaskName Name => new(name);
        public override string InstanceId =>
            f.BindingContext.BindingData.TryGetValue("instanceId", out var id) ? id?.ToString() ?? "" : "";
    }
}
