using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Middleware;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;

namespace Mlops.Host.Durable;

/// <summary>
/// DTFx dispatcher middleware that runs every orchestration episode and activity in the worker process, as the
/// Durable extension's OutOfProcMiddleware does: it sets the <see cref="OrchestratorExecutionResult"/> or
/// <see cref="ActivityExecutionResult"/> so DTFx skips its in-process execution. Host-side trouble (worker gone,
/// invocation cancelled by shutdown) becomes <see cref="SessionAbortedException"/>: DTFx abandons the work item and
/// it runs again, here or on another host.
/// </summary>
public sealed class WorkerDispatchMiddleware(
    IWorkerInvoker invoker,
    DurableHubOptions hub,
    ILogger<WorkerDispatchMiddleware> log
)
{
    /// <summary>Binding type of orchestrator functions' trigger.</summary>
    public const string OrchestrationTrigger = "orchestrationTrigger";

    /// <summary>Binding type of activity functions' trigger.</summary>
    public const string ActivityTrigger = "activityTrigger";

    /// <summary>Runs one orchestration episode in the worker.</summary>
    public async Task CallOrchestratorAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        var state = context.GetProperty<OrchestrationRuntimeState>();
        if (state?.ExecutionStartedEvent is null)
        {
            context.SetProperty(
                WorkerPayloads.FailOrchestration(
                    "OrchestrationStateMissing",
                    "The orchestration's runtime state was missing."
                )
            );
            return;
        }
        var function = await FindAsync(OrchestrationTrigger, state.Name);
        if (function is null)
        {
            // Failing beats abandoning: a name nothing answers to would be redelivered forever.
            context.SetProperty(
                WorkerPayloads.FailOrchestration(
                    "FunctionNotFound",
                    $"The function '{state.Name}' doesn't exist, is disabled, or is not an orchestrator function. Orchestrator functions: "
                        + string.Join(", ", Names(OrchestrationTrigger))
                        + "."
                )
            );
            return;
        }

        // Inside a DTFx extended session (host.json extendedSessionsEnabled) the worker caches the orchestration
        // between episodes and DTFx tells us whether this episode must carry the history
        // (WorkItemMetadata.IncludeState).
        var session =
            hub.ExtendedSessionsEnabled && context.GetProperty<WorkItemMetadata>() is { } metadata
                ? new ExtendedSessionRequest(
                    metadata.IsExtendedSession,
                    metadata.IncludeState,
                    hub.ExtendedSessionIdleTimeout
                )
                : null;
        var request = NewRequest(function);
        request.InputData.Add(
            new ParameterBinding
            {
                Name = function.Trigger.Key,
                Data = WorkerPayloads.OrchestratorTrigger(state, session),
            }
        );
        var response = await InvokeAsync(function, request, state.OrchestrationInstance?.InstanceId);
        if (session is { IncludeState: false } && WorkerPayloads.RequiresHistory(response))
        {
            // The worker lost its cached copy (it restarted, or evicted it first): as the extension does, abort the
            // session; DTFx abandons the work item and runs it again in a new session, this time with the history.
            throw new SessionAbortedException(
                $"The worker needs the history of {state.OrchestrationInstance?.InstanceId} (its extended session is gone)."
            );
        }

        // An OrchestratorResponse is the answer whatever the invocation's status says: the shim reports orchestrator
        // exceptions as a CompleteOrchestration(Failed) action, and some worker versions also flag the invocation
        // failed.
        if (response.Result?.Status == StatusResult.Types.Status.Success || WorkerPayloads.HasReturnValue(response))
        {
            try
            {
                context.SetProperty(WorkerPayloads.OrchestratorResult(response));
                return;
            }
            catch (InvalidDataException e) when (response.Result?.Status == StatusResult.Types.Status.Success)
            {
                context.SetProperty(WorkerPayloads.FailOrchestration("InvalidOrchestratorResponse", e.Message));
                return;
            }
            catch (InvalidDataException)
            {
                // Failed and no usable response: report the invocation's own exception below.
            }
        }

        // A failed invocation without a response means the function could not run at all (binding, startup).
        var failure = WorkerPayloads.FailureFrom(response.Result?.Exception, function.Name);
        log.LogWarning(
            "Orchestrator {Function} ({Instance}) failed in the worker: {Type}: {Message}\n{Stack}",
            function.Name,
            state.OrchestrationInstance?.InstanceId,
            failure.ErrorType,
            failure.ErrorMessage,
            failure.StackTrace
        );
        context.SetProperty(
            WorkerPayloads.FailOrchestration(
                failure.ErrorType,
                $"Function '{function.Name}' failed with an unhandled exception: {failure.ErrorMessage}"
            )
        );
    }

    /// <summary>Runs one activity in the worker.</summary>
    public async Task CallActivityAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        var scheduled = context.GetProperty<TaskScheduledEvent>()
            ?? throw new InvalidOperationException("An activity was dispatched without its TaskScheduledEvent.");
        var instance = context.GetProperty<OrchestrationInstance>();
        var function = await FindAsync(ActivityTrigger, scheduled.Name ?? "");
        if (function is null)
        {
            context.SetProperty(
                WorkerPayloads.ActivityFailed(
                    scheduled.EventId,
                    new FailureDetails(
                        "FunctionNotFound",
                        $"The function '{scheduled.Name}' doesn't exist, is disabled, or is not an activity function. Activity functions: "
                            + string.Join(", ", Names(ActivityTrigger))
                            + ".",
                        null,
                        null,
                        true
                    )
                )
            );
            return;
        }

        TypedData input;
        try
        {
            input = WorkerPayloads.ActivityTrigger(scheduled.Input);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
        {
            context.SetProperty(
                WorkerPayloads.ActivityFailed(
                    scheduled.EventId,
                    new FailureDetails(
                        "InvalidActivityInput",
                        $"The input of activity '{function.Name}' is unusable: {e.Message}",
                        null,
                        null,
                        true
                    )
                )
            );
            return;
        }
        var request = NewRequest(function);
        request.InputData.Add(new ParameterBinding { Name = function.Trigger.Key, Data = input });
        // Binding data the extension offers activity functions (FunctionContext.BindingContext.BindingData).
        if (instance?.InstanceId is { } instanceId)
            request.TriggerMetadata["instanceId"] = new TypedData { String = instanceId };
        var response = await InvokeAsync(function, request, instance?.InstanceId);

        if (response.Result?.Status == StatusResult.Types.Status.Success)
        {
            string? output;
            try
            {
                output = WorkerPayloads.ActivityOutput(response);
            }
            catch (InvalidDataException e)
            {
                context.SetProperty(
                    WorkerPayloads.ActivityFailed(
                        scheduled.EventId,
                        new FailureDetails("InvalidActivityOutput", e.Message, null, null, true)
                    )
                );
                return;
            }
            context.SetProperty(
                new ActivityExecutionResult { ResponseEvent = new TaskCompletedEvent(-1, scheduled.EventId, output) }
            );
            return;
        }
        var failure = WorkerPayloads.FailureFrom(response.Result?.Exception, function.Name);
        context.SetProperty(WorkerPayloads.ActivityFailed(scheduled.EventId, failure));
    }

    /// <summary>An invocation of the function; the worker requires a trace context (it dereferences it
    /// unchecked).</summary>
    private static InvocationRequest NewRequest(HostedFunction function) =>
        new() { FunctionId = function.FunctionId, TraceContext = new RpcTraceContext() };

    private async Task<InvocationResponse> InvokeAsync(
        HostedFunction function,
        InvocationRequest request,
        string? instanceId
    )
    {
        try
        {
            return await invoker.InvokeAsync(function, request);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The worker died or restarted mid-invocation, or the host is stopping: nothing the function did is
            // recorded, so the work item is abandoned and runs again (DTFx backs it off 2^n seconds).
            log.LogWarning(
                "Invocation of {Function} ({Instance}) did not complete, the work item will run again: {Error}",
                function.Name,
                instanceId,
                e.Message
            );
            throw new SessionAbortedException($"Invocation of '{function.Name}' did not complete: {e.Message}");
        }
    }

    private async Task<HostedFunction?> FindAsync(string triggerType, string name)
    {
        await invoker.WaitUntilReadyAsync();
        // Function names are case-insensitive in Functions (the extension's FunctionName compares ignoring case).
        return invoker.Functions.FirstOrDefault(f =>
            string.Equals(f.TriggerType, triggerType, StringComparison.OrdinalIgnoreCase)
            && string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)
        );
    }

    private IEnumerable<string> Names(string triggerType) =>
        invoker
            .Functions.Where(f => string.Equals(f.TriggerType, triggerType, StringComparison.OrdinalIgnoreCase))
            .Select(f => f.Name);
}
