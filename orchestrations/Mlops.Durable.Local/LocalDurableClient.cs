using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using CoreQuery = DurableTask.Core.Query.OrchestrationQuery;
using CoreStatus = DurableTask.Core.OrchestrationStatus;
using PurgeResult = Microsoft.DurableTask.Client.PurgeResult;

namespace Mlops.Durable.Local;

/// <summary>
/// A <see cref="DurableTaskClient"/> over DTFx's <c>IOrchestrationServiceClient</c> (the upstream client shim
/// package is not available here). Start, status, query, events, terminate, suspend/resume, restart, purge and
/// history behave as the Durable Functions client does, against the same task hub the worker runs.
/// </summary>
public sealed class LocalDurableClient(LocalTaskHub hub, DataConverter converter) : DurableTaskClient("local")
{
    private IOrchestrationServiceClient Client => hub.Service;

    public override DurableEntityClient Entities =>
        throw new NotSupportedException("Durable entities are not used by MlopsFunctions.");

    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default
    )
    {
        await hub.EnsureCreatedAsync();
        string instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var instance = new OrchestrationInstance
        {
            InstanceId = instanceId,
            ExecutionId = Guid.NewGuid().ToString("N"),
        };
        var started = new ExecutionStartedEvent(-1, converter.Serialize(input))
        {
            Name = orchestratorName.Name,
            Version = options?.Version ?? "",
            OrchestrationInstance = instance,
            ScheduledStartTime = options?.StartAt?.UtcDateTime,
            Tags = options?.Tags?.ToDictionary(t => t.Key, t => t.Value) ?? [],
        };
        // A running (or suspended) instance cannot be started again under its id (as in Durable Functions). A Pending
        // one can: the backend writes the instance row before it sends the start message, so a start interrupted in
        // between (a crash, a storage outage) leaves a Pending row with no message, and only a new start un-sticks it.
        // If the first message did go out, the dispatcher's ExecutionStarted dedup drops the second.
        if (
            await GetInstancesAsync(instanceId, false, cancellation) is
            { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Suspended }
        )
            throw new InvalidOperationException(
                $"An orchestration with instance id '{instanceId}' is already running."
            );
        CoreStatus[] dedupe = [CoreStatus.Running, CoreStatus.Suspended];
        try
        {
            await Client.CreateTaskOrchestrationAsync(
                new TaskMessage { OrchestrationInstance = instance, Event = started },
                dedupe
            );
        }
        catch (OrchestrationAlreadyExistsException e)
        {
            throw new InvalidOperationException(
                $"An orchestration with instance id '{instanceId}' is already running.",
                e
            );
        }
        return instanceId;
    }

    public override Task RaiseEventAsync(
        string instanceId,
        string eventName,
        object? eventPayload = null,
        CancellationToken cancellation = default
    ) => SendAsync(instanceId, new EventRaisedEvent(-1, converter.Serialize(eventPayload)) { Name = eventName });

    public override Task SuspendInstanceAsync(
        string instanceId,
        string? reason = null,
        CancellationToken cancellation = default
    ) => SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason));

    public override Task ResumeInstanceAsync(
        string instanceId,
        string? reason = null,
        CancellationToken cancellation = default
    ) => SendAsync(instanceId, new ExecutionResumedEvent(-1, reason));

    public override Task TerminateInstanceAsync(
        string instanceId,
        TerminateInstanceOptions? options = null,
        CancellationToken cancellation = default
    ) => Client.ForceTerminateTaskOrchestrationAsync(instanceId, converter.Serialize(options?.Output));

    public override async Task<OrchestrationMetadata?> GetInstancesAsync(
        string instanceId,
        bool getInputsAndOutputs = false,
        CancellationToken cancellation = default
    )
    {
        // The Azure Storage backend answers an unknown id with a list that holds one null.
        var states = await Client.GetOrchestrationStateAsync(instanceId, allExecutions: false);
        return states?.FirstOrDefault(s => s is not null) is { } state ? ToMetadata(state, getInputsAndOutputs) : null;
    }

    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(
        Microsoft.DurableTask.Client.OrchestrationQuery? filter = null
    ) =>
        Pageable.Create(
            async (continuation, pageSize, cancellation) =>
            {
                var query = new CoreQuery
                {
                    RuntimeStatus = filter?.Statuses?.Select(ToCore).ToList(),
                    CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime,
                    CreatedTimeTo = filter?.CreatedTo?.UtcDateTime,
                    InstanceIdPrefix = filter?.InstanceIdPrefix,
                    PageSize = pageSize
                        ?? filter?.PageSize
                        ?? Microsoft.DurableTask.Client.OrchestrationQuery.DefaultPageSize,
                    ContinuationToken = continuation ?? filter?.ContinuationToken,
                    FetchInputsAndOutputs = filter?.FetchInputsAndOutputs ?? false,
                };
                var result = await ((IOrchestrationServiceQueryClient)hub.Service).GetOrchestrationWithQueryAsync(
                    query,
                    cancellation
                );
                return new Page<OrchestrationMetadata>(
                    result.OrchestrationState.Select(s => ToMetadata(s, query.FetchInputsAndOutputs)).ToList(),
                    result.ContinuationToken
                );
            }
        );

    public override async Task<OrchestrationMetadata> WaitForInstanceStartAsync(
        string instanceId,
        bool getInputsAndOutputs = false,
        CancellationToken cancellation = default
    )
    {
        while (true)
        {
            var metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation);
            if (metadata is not null && metadata.RuntimeStatus != OrchestrationRuntimeStatus.Pending)
                return metadata;
            await Task.Delay(100, cancellation);
        }
    }

    public override async Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(
        string instanceId,
        bool getInputsAndOutputs = false,
        CancellationToken cancellation = default
    )
    {
        // Polls with a short, growing interval: completion is usually seconds away and a client waits at most 1 s
        // extra.
        for (int delay = 50; ; delay = Math.Min(1000, delay * 2))
        {
            var metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation);
            if (metadata is { IsCompleted: true })
                return metadata;
            await Task.Delay(delay, cancellation);
        }
    }

    public override async Task<PurgeResult> PurgeInstanceAsync(
        string instanceId,
        PurgeInstanceOptions? options = null,
        CancellationToken cancellation = default
    )
    {
        var metadata = await GetInstancesAsync(instanceId, false, cancellation);
        if (metadata is null)
            return new PurgeResult(0);
        if (!metadata.IsCompleted)
            throw new InvalidOperationException(
                $"Only finished orchestrations can be purged; '{instanceId}' is {metadata.RuntimeStatus}."
            );
        var result = await ((IOrchestrationServicePurgeClient)hub.Service).PurgeInstanceStateAsync(instanceId);
        return new PurgeResult(result.DeletedInstanceCount);
    }

    public override async Task<PurgeResult> PurgeAllInstancesAsync(
        PurgeInstancesFilter filter,
        PurgeInstanceOptions? options = null,
        CancellationToken cancellation = default
    )
    {
        var coreFilter = new PurgeInstanceFilter(
            filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue,
            filter.CreatedTo?.UtcDateTime,
            filter.Statuses?.Select(ToCore)
        );
        var result = await ((IOrchestrationServicePurgeClient)hub.Service).PurgeInstanceStateAsync(coreFilter);
        return new PurgeResult(result.DeletedInstanceCount);
    }

    public override async Task<string> RestartAsync(
        string instanceId,
        bool restartWithNewInstanceId = false,
        CancellationToken cancellation = default
    )
    {
        var metadata = await GetInstancesAsync(instanceId, true, cancellation)
            ?? throw new ArgumentException($"No orchestration with instance id '{instanceId}'.");
        if (!restartWithNewInstanceId && !metadata.IsCompleted)
            throw new InvalidOperationException(
                $"'{instanceId}' is {metadata.RuntimeStatus}; terminate it before restarting it under the same id."
            );
        string newId = restartWithNewInstanceId ? Guid.NewGuid().ToString("N") : instanceId;
        var instance = new OrchestrationInstance { InstanceId = newId, ExecutionId = Guid.NewGuid().ToString("N") };
        await Client.CreateTaskOrchestrationAsync(
            new TaskMessage
            {
                OrchestrationInstance = instance,
                Event = new ExecutionStartedEvent(-1, metadata.SerializedInput)
                {
                    Name = metadata.Name,
                    OrchestrationInstance = instance,
                },
            },
            [CoreStatus.Pending, CoreStatus.Running, CoreStatus.Suspended]
        );
        return newId;
    }

    public override async Task<IList<HistoryEvent>> GetOrchestrationHistoryAsync(
        string instanceId,
        CancellationToken cancellation = default
    )
    {
        var state = await GetInstancesAsync(instanceId, false, cancellation);
        if (state is null)
            return [];
        // The backend returns the rows as JSON without type names; each row's EventType names its class.
        string history = await hub.Service.GetOrchestrationHistoryAsync(instanceId, executionId: null);
        var events = new List<HistoryEvent>();
        foreach (var row in Newtonsoft.Json.Linq.JArray.Parse(history).OfType<Newtonsoft.Json.Linq.JObject>())
        {
            string? kind = Enum.TryParse<EventType>(row.Value<string>("EventType"), out var parsed)
                ? parsed.ToString()
                : null;
            var type = kind is null
                ? null
                : typeof(HistoryEvent).Assembly.GetType($"DurableTask.Core.History.{kind}Event")
                    ?? typeof(HistoryEvent).Assembly.GetType($"DurableTask.Core.History.{kind}");
            if (type is not null && row.ToObject(type) is HistoryEvent e)
                events.Add(e);
        }
        return events;
    }

    public override ValueTask DisposeAsync() => default;

    private async Task SendAsync(string instanceId, HistoryEvent e)
    {
        await hub.EnsureCreatedAsync();
        await Client.SendTaskOrchestrationMessageAsync(
            new TaskMessage
            {
                OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
                Event = e,
            }
        );
    }

    private OrchestrationMetadata ToMetadata(OrchestrationState state, bool withData) =>
        new(state.Name, state.OrchestrationInstance.InstanceId)
        {
            DataConverter = withData ? converter : null,
            RuntimeStatus = (OrchestrationRuntimeStatus)(int)state.OrchestrationStatus,
            CreatedAt = state.CreatedTime,
            LastUpdatedAt = state.LastUpdatedTime,
            SerializedInput = state.Input,
            SerializedOutput = state.Output,
            SerializedCustomStatus = state.Status,
            FailureDetails =
                state.FailureDetails is { } f ? ToFailure(f)
                : state.OrchestrationStatus == CoreStatus.Failed ? FailureFromOutput(state.Output)
                : null,
        };

    /// <summary>
    /// The Azure Storage backend keeps a failed instance's failure details only in its output column (as FailureDetails
    /// JSON, or as plain text from older writers); surface them where clients look for them.
    /// </summary>
    private static TaskFailureDetails? FailureFromOutput(string? output)
    {
        if (string.IsNullOrEmpty(output))
            return null;
        try
        {
            if (
                Newtonsoft.Json.JsonConvert.DeserializeObject<FailureDetails>(output) is
                { ErrorMessage: not null } details
            )
                return ToFailure(details);
        }
        catch (Newtonsoft.Json.JsonException) { }
        return new TaskFailureDetails("OrchestrationFailed", output, null, null, null);
    }

    private static TaskFailureDetails ToFailure(FailureDetails f) =>
        new(f.ErrorType, f.ErrorMessage, f.StackTrace, f.InnerFailure is { } inner ? ToFailure(inner) : null, null);

    private static CoreStatus ToCore(OrchestrationRuntimeStatus s) => (CoreStatus)(int)s;
}
