using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.Options;
using P = Microsoft.DurableTask.Protobuf;

namespace Mlops.Host.Durable;

/// <summary>
/// The gRPC service behind the worker's <c>DurableTaskClient</c>: durabletask-dotnet's preview sidecar
/// (<see cref="TaskHubGrpcServer"/> in API-server mode, no dispatching) over the host's DTFx Azure Storage service,
/// with the calls where the sidecar differs from the Durable extension's own endpoint (LocalGrpcListener +
/// DurableClient) replaced:
/// <list type="bullet">
/// <item>start: a running or suspended instance id is refused (AlreadyExists) unless the caller's reuse policy says
/// otherwise; a Pending one may be started again (a start whose message was lost stays Pending forever otherwise);
/// the scheduled start time is honoured (the sidecar drops it);</item>
/// <item>get/wait: no crash on instances without tags, unknown ids answer "not found", completion waits poll at
/// 50 ms → 1 s rather than DTFx's fixed 2 s;</item>
/// <item>history: read from storage (the sidecar only streams the history of an episode it is dispatching);</item>
/// <item>query: empty status/hub lists mean "any" (the extension's conversion), entities are excluded;</item>
/// <item>raise event, terminate, suspend, resume on an unknown id: NotFound; on a finished instance: nothing is sent
/// (as the extension's client does), instead of a message the dispatcher would discard later;</item>
/// <item>purge: only finished instances (Azure Storage would delete a running one's state); a filter without statuses
/// purges finished instances only.</item>
/// </list>
/// </summary>
public sealed class DurableClientService(
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    DurableTaskHub hub,
    IOptions<TaskHubGrpcServerOptions> options
) : TaskHubGrpcServer(lifetime, loggerFactory, hub.Service, hub.Service, options)
{
    private static readonly OrchestrationStatus[] Finished =
    [
        OrchestrationStatus.Completed,
        OrchestrationStatus.Failed,
        OrchestrationStatus.Terminated,
        OrchestrationStatus.Canceled,
    ];

    private IOrchestrationServiceClient Client => hub.Service;

    /// <inheritdoc />
    public override async Task<P.CreateInstanceResponse> StartInstance(
        P.CreateInstanceRequest request,
        ServerCallContext context
    )
    {
        if (string.IsNullOrWhiteSpace(request.Name))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The orchestrator name is required."));
        await hub.EnsureCreatedAsync(context.CancellationToken);
        var instance = new OrchestrationInstance
        {
            InstanceId = string.IsNullOrEmpty(request.InstanceId) ? Guid.NewGuid().ToString("N") : request.InstanceId,
            ExecutionId = Guid.NewGuid().ToString("N"),
        };
        OrchestrationStatus[] dedupe =
            request.OrchestrationIdReusePolicy is { } policy && policy.ReplaceableStatus.Count > 0
                ? System
                    .Enum.GetValues<OrchestrationStatus>()
                    .Except(policy.ReplaceableStatus.Select(s => (OrchestrationStatus)s))
                    .ToArray()
                : [OrchestrationStatus.Running, OrchestrationStatus.Suspended];
        var started = new ExecutionStartedEvent(-1, request.Input)
        {
            Name = request.Name,
            Version = request.Version ?? "",
            OrchestrationInstance = instance,
            Tags = request.Tags.ToDictionary(t => t.Key, t => t.Value),
            ScheduledStartTime = request.ScheduledStartTimestamp?.ToDateTime(),
        };
        try
        {
            await Client.CreateTaskOrchestrationAsync(
                new TaskMessage { OrchestrationInstance = instance, Event = started },
                dedupe
            );
        }
        catch (OrchestrationAlreadyExistsException e)
        {
            throw new RpcException(
                new Status(
                    StatusCode.AlreadyExists,
                    $"An orchestration with instance id '{instance.InstanceId}' already exists and is running: {e.Message}"
                )
            );
        }
        return new P.CreateInstanceResponse { InstanceId = instance.InstanceId };
    }

    /// <inheritdoc />
    public override async Task<P.GetInstanceResponse> GetInstance(
        P.GetInstanceRequest request,
        ServerCallContext context
    )
    {
        var state = await GetStateAsync(request.InstanceId);
        return state is null
            ? new P.GetInstanceResponse { Exists = false }
            : ToResponse(state, request.GetInputsAndOutputs);
    }

    /// <inheritdoc />
    public override async Task<P.GetInstanceResponse> WaitForInstanceStart(
        P.GetInstanceRequest request,
        ServerCallContext context
    )
    {
        for (int delay = 50; ; delay = Math.Min(1000, delay * 2))
        {
            var state = await GetStateAsync(request.InstanceId);
            if (state is not null && state.OrchestrationStatus != OrchestrationStatus.Pending)
                return ToResponse(state, request.GetInputsAndOutputs);
            await Task.Delay(delay, context.CancellationToken);
        }
    }

    /// <inheritdoc />
    public override async Task<P.GetInstanceResponse> WaitForInstanceCompletion(
        P.GetInstanceRequest request,
        ServerCallContext context
    )
    {
        for (int delay = 50; ; delay = Math.Min(1000, delay * 2))
        {
            var state = await GetStateAsync(request.InstanceId);
            if (state is null)
                return new P.GetInstanceResponse { Exists = false };
            if (Finished.Contains(state.OrchestrationStatus))
                return ToResponse(state, request.GetInputsAndOutputs);
            await Task.Delay(delay, context.CancellationToken);
        }
    }

    /// <inheritdoc />
    public override async Task<P.QueryInstancesResponse> QueryInstances(
        P.QueryInstancesRequest request,
        ServerCallContext context
    )
    {
        var q = request.Query ?? new P.InstanceQuery();
        var query = new OrchestrationQuery
        {
            RuntimeStatus =
                q.RuntimeStatus.Count > 0 ? q.RuntimeStatus.Select(s => (OrchestrationStatus)s).ToList() : null,
            CreatedTimeFrom = q.CreatedTimeFrom?.ToDateTime(),
            CreatedTimeTo = q.CreatedTimeTo?.ToDateTime(),
            TaskHubNames = q.TaskHubNames.Count > 0 ? q.TaskHubNames.ToList() : null,
            PageSize = q.MaxInstanceCount > 0 ? q.MaxInstanceCount : 100,
            ContinuationToken = string.IsNullOrEmpty(q.ContinuationToken) ? null : q.ContinuationToken,
            InstanceIdPrefix = string.IsNullOrEmpty(q.InstanceIdPrefix) ? null : q.InstanceIdPrefix,
            FetchInputsAndOutputs = q.FetchInputsAndOutputs,
            ExcludeEntities = true,
        };
        var result = await ((IOrchestrationServiceQueryClient)hub.Service).GetOrchestrationWithQueryAsync(
            query,
            context.CancellationToken
        );
        var response = new P.QueryInstancesResponse { ContinuationToken = result.ContinuationToken };
        response.OrchestrationState.AddRange(
            result.OrchestrationState.Select(s => ToProto(s, q.FetchInputsAndOutputs))
        );
        return response;
    }

    /// <inheritdoc />
    public override async Task<P.RaiseEventResponse> RaiseEvent(P.RaiseEventRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The event name is required."));
        if (await RequireAsync(request.InstanceId) is { } state && !Finished.Contains(state.OrchestrationStatus))
            await SendAsync(request.InstanceId, new EventRaisedEvent(-1, request.Input) { Name = request.Name });
        return new P.RaiseEventResponse();
    }

    /// <inheritdoc />
    public override async Task<P.TerminateResponse> TerminateInstance(
        P.TerminateRequest request,
        ServerCallContext context
    )
    {
        if (await RequireAsync(request.InstanceId) is { } state && !Finished.Contains(state.OrchestrationStatus))
            await Client.ForceTerminateTaskOrchestrationAsync(request.InstanceId, request.Output);
        return new P.TerminateResponse();
    }

    /// <inheritdoc />
    public override async Task<P.SuspendResponse> SuspendInstance(P.SuspendRequest request, ServerCallContext context)
    {
        if (await RequireAsync(request.InstanceId) is { } state && !Finished.Contains(state.OrchestrationStatus))
            await SendAsync(request.InstanceId, new ExecutionSuspendedEvent(-1, request.Reason));
        return new P.SuspendResponse();
    }

    /// <inheritdoc />
    public override async Task<P.ResumeResponse> ResumeInstance(P.ResumeRequest request, ServerCallContext context)
    {
        if (await RequireAsync(request.InstanceId) is { } state && !Finished.Contains(state.OrchestrationStatus))
            await SendAsync(request.InstanceId, new ExecutionResumedEvent(-1, request.Reason));
        return new P.ResumeResponse();
    }

    /// <inheritdoc />
    public override async Task<P.PurgeInstancesResponse> PurgeInstances(
        P.PurgeInstancesRequest request,
        ServerCallContext context
    )
    {
        var purge = (IOrchestrationServicePurgeClient)hub.Service;
        PurgeResult result;
        if (request.RequestCase == P.PurgeInstancesRequest.RequestOneofCase.InstanceId)
        {
            var state = await GetStateAsync(request.InstanceId);
            if (state is null)
                return new P.PurgeInstancesResponse { DeletedInstanceCount = 0 };
            if (!Finished.Contains(state.OrchestrationStatus))
                throw new RpcException(
                    new Status(
                        StatusCode.FailedPrecondition,
                        $"Only finished orchestrations can be purged; '{request.InstanceId}' is {state.OrchestrationStatus}."
                    )
                );
            result = await purge.PurgeInstanceStateAsync(request.InstanceId);
        }
        else if (request.RequestCase == P.PurgeInstancesRequest.RequestOneofCase.PurgeInstanceFilter)
        {
            var f = request.PurgeInstanceFilter;
            var statuses =
                f.RuntimeStatus.Count > 0
                    ? f.RuntimeStatus.Select(s => (OrchestrationStatus)s).ToList()
                    : Finished.ToList();
            var running = statuses.Where(s => !Finished.Contains(s)).ToList();
            if (running.Count > 0)
                throw new RpcException(
                    new Status(
                        StatusCode.InvalidArgument,
                        $"Only finished orchestrations can be purged; the filter names {string.Join(", ", running)}."
                    )
                );
            result = await purge.PurgeInstanceStateAsync(
                new PurgeInstanceFilter(
                    f.CreatedTimeFrom?.ToDateTime() ?? DateTime.MinValue,
                    f.CreatedTimeTo?.ToDateTime(),
                    statuses
                )
            );
        }
        else
        {
            throw new RpcException(
                new Status(StatusCode.InvalidArgument, "A purge request needs an instance id or a filter.")
            );
        }
        return new P.PurgeInstancesResponse { DeletedInstanceCount = result.DeletedInstanceCount };
    }

    /// <inheritdoc />
    public override async Task StreamInstanceHistory(
        P.StreamInstanceHistoryRequest request,
        IServerStreamWriter<P.HistoryChunk> responseStream,
        ServerCallContext context
    )
    {
        _ = await RequireAsync(request.InstanceId);
        var events = await StoredHistory.ReadAsync(
            hub.Service,
            request.InstanceId,
            string.IsNullOrEmpty(request.ExecutionId) ? null : request.ExecutionId
        );
        // Chunks of at most ~256 KB keep each message far below the client's receive limit (4 MiB by default).
        const int MaxChunkBytes = 256 * 1024;
        var chunk = new P.HistoryChunk();
        int size = 0;
        foreach (var e in events)
        {
            var proto = ProtobufUtils.ToHistoryEventProto(e);
            int eventSize = proto.CalculateSize();
            if (size > 0 && size + eventSize > MaxChunkBytes)
            {
                await responseStream.WriteAsync(chunk, context.CancellationToken);
                chunk = new P.HistoryChunk();
                size = 0;
            }
            chunk.Events.Add(proto);
            size += eventSize;
        }
        await responseStream.WriteAsync(chunk, context.CancellationToken);
    }

    private async Task<OrchestrationState?> GetStateAsync(string instanceId)
    {
        if (string.IsNullOrEmpty(instanceId))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "An instance id is required."));
        // The Azure Storage backend answers an unknown id with a list holding one null.
        var states = await Client.GetOrchestrationStateAsync(instanceId, allExecutions: false);
        return states?.FirstOrDefault(s => s is not null);
    }

    private async Task<OrchestrationState> RequireAsync(string instanceId) =>
        await GetStateAsync(instanceId)
        ?? throw new RpcException(
            new Status(StatusCode.NotFound, $"No orchestration instance with id '{instanceId}' was found.")
        );

    private Task SendAsync(string instanceId, HistoryEvent e) =>
        Client.SendTaskOrchestrationMessageAsync(
            new TaskMessage
            {
                OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
                Event = e,
            }
        );

    private static P.GetInstanceResponse ToResponse(OrchestrationState state, bool withData) =>
        new() { Exists = true, OrchestrationState = ToProto(state, withData) };

    private static P.OrchestrationState ToProto(OrchestrationState state, bool withData)
    {
        var proto = new P.OrchestrationState
        {
            InstanceId = state.OrchestrationInstance.InstanceId,
            Name = state.Name ?? "",
            Version = state.Version ?? "",
            OrchestrationStatus = (P.OrchestrationStatus)state.OrchestrationStatus,
            CreatedTimestamp = Timestamp.FromDateTime(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            LastUpdatedTimestamp = Timestamp.FromDateTime(
                DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)
            ),
        };
        if (state.OrchestrationInstance.ExecutionId is { } executionId)
            proto.ExecutionId = executionId;
        if (state.ScheduledStartTime is { } scheduled)
            proto.ScheduledStartTimestamp = Timestamp.FromDateTime(DateTime.SpecifyKind(scheduled, DateTimeKind.Utc));
        if (state.Tags is not null)
            proto.Tags.Add(state.Tags);
        if (withData)
        {
            if (state.Input is not null)
                proto.Input = state.Input;
            if (state.Output is not null)
                proto.Output = state.Output;
            if (state.Status is not null)
                proto.CustomStatus = state.Status;
            if (state.FailureDetails is { } failure)
                proto.FailureDetails = ToProto(failure);
        }
        return proto;
    }

    private static P.TaskFailureDetails ToProto(FailureDetails failure)
    {
        var proto = new P.TaskFailureDetails
        {
            ErrorType = failure.ErrorType ?? "",
            ErrorMessage = failure.ErrorMessage ?? "",
            IsNonRetriable = failure.IsNonRetriable,
        };
        if (failure.StackTrace is not null)
            proto.StackTrace = failure.StackTrace;
        if (failure.InnerFailure is { } inner)
            proto.InnerFailure = ToProto(inner);
        return proto;
    }
}
