using System.Text.Json;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Mlops.Core.Errors;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Handlers;

/// <summary>
/// The orchestration management API, shaped like Durable Functions' HTTP API (status with <c>runtimeStatus</c>,
/// <c>input</c>, <c>customStatus</c>, <c>output</c>, <c>historyEvents</c>; 202 while running, 200 when done; the
/// management URIs in every start response) so Durable tooling and habits carry over. There is no operation that starts
/// an orchestration by name with raw input: runs start only through the pipeline routes, which take no paths.
/// Every operation works on the invocation's <see cref="DurableTaskClient"/>.
/// </summary>
public sealed class OrchestrationHandler
{
    /// <summary>Where the management routes live.</summary>
    public const string Prefix = "/api/orchestrations";

    /// <summary>The management URIs of an instance, relative to the app (never built from the request's Host
    /// header).</summary>
    public static object UrisFor(string instanceId)
    {
        string i = Prefix + "/" + Uri.EscapeDataString(instanceId);
        return new
        {
            id = instanceId,
            statusQueryGetUri = i,
            sendEventPostUri = i + "/raiseEvent/{eventName}",
            terminatePostUri = i + "/terminate?reason={text}",
            suspendPostUri = i + "/suspend?reason={text}",
            resumePostUri = i + "/resume?reason={text}",
            restartPostUri = i + "/restart",
            purgeHistoryDeleteUri = i,
        };
    }

    /// <summary>An instance's status (<c>?showHistory=true</c> adds its history): 202 while it runs, 200 when it is
    /// done.</summary>
    public async Task<ApiResponse> GetAsync(
        string id,
        bool showHistory,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        var status = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken)
            ?? throw Unknown(id);
        IList<HistoryEvent>? events = showHistory
            ? await client.GetOrchestrationHistoryAsync(id, cancellationToken)
            : null;
        return ApiResponse.Json(ToStatus(status, events), status.IsCompleted ? 200 : 202);
    }

    /// <summary>Instances filtered by runtime status, creation time and id prefix (<c>?top=</c> ≤ 1000, default
    /// 100).</summary>
    public async Task<ApiResponse> ListAsync(
        string? runtimeStatus,
        string? createdTimeFrom,
        string? createdTimeTo,
        string? instanceIdPrefix,
        string? top,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        var statuses = new List<OrchestrationRuntimeStatus>();
        foreach (
            string s in (runtimeStatus ?? "").Split(
                ',',
                StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries
            )
        )
        {
            if (
                !Enum.TryParse<OrchestrationRuntimeStatus>(s, ignoreCase: true, out var parsed)
                || !Enum.IsDefined(parsed)
                || int.TryParse(s, out _)
            )
                throw new MlopsException(
                    "orchestration.bad_status",
                    $"Unknown runtime status '{s}'. Use one of: {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}."
                );
            statuses.Add(parsed);
        }
        int count = RequestQuery.OptionalPositiveInt("top", NullIfEmpty(top)) ?? 100;
        if (count > 1000)
            throw new MlopsException(RequestQuery.InvalidCode, "?top= must be at most 1000.");
        var query = new OrchestrationQuery
        {
            Statuses = statuses.Count > 0 ? statuses : null,
            CreatedFrom = RequestQuery.Time("createdTimeFrom", NullIfEmpty(createdTimeFrom)),
            CreatedTo = RequestQuery.Time("createdTimeTo", NullIfEmpty(createdTimeTo)),
            InstanceIdPrefix = NullIfEmpty(instanceIdPrefix),
            PageSize = count,
            FetchInputsAndOutputs = true,
        };
        var list = new List<object>();
        await foreach (
            var page in client
                .GetAllInstancesAsync(query)
                .AsPages(pageSizeHint: count)
                .WithCancellation(cancellationToken)
        )
        {
            list.AddRange(page.Values.Select(s => ToStatus(s, null)));
            if (list.Count >= count)
                break;
        }
        return ApiResponse.Json(new { instances = list.Take(count), count = Math.Min(count, list.Count) });
    }

    /// <summary>Raises an external event (JSON payload, optional) on a running instance: 202 with the management
    /// URIs.</summary>
    public async Task<ApiResponse> RaiseEventAsync(
        string id,
        string eventName,
        Stream body,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        var status = await client.GetInstanceAsync(id, cancellationToken) ?? throw Unknown(id);
        if (status.IsCompleted)
            throw new MlopsException(
                "orchestration.completed",
                $"Instance '{id}' is {status.RuntimeStatus}; it takes no more events.",
                410
            );
        // The strict body reader every route uses: size cap, depth, valid UTF-8, finite numbers; empty means no
        // payload.
        var payload = await RequestJson.ReadAsync<System.Text.Json.Nodes.JsonNode>(
            body,
            "event",
            optional: true,
            cancellationToken: cancellationToken
        );
        await client.RaiseEventAsync(id, eventName, payload, cancellationToken);
        return ApiResponse.Json(UrisFor(id), 202);
    }

    /// <summary><c>terminate</c>, <c>suspend</c>, <c>resume</c> or <c>restart</c> an instance: 202 with the management
    /// URIs.</summary>
    public async Task<ApiResponse> ManageAsync(
        string id,
        string operation,
        string? reason,
        bool restartWithNewInstanceId,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        var status = await client.GetInstanceAsync(id, cancellationToken) ?? throw Unknown(id);
        switch (operation)
        {
            case "terminate":
                if (status.IsCompleted)
                    throw Finished(id, status, "terminated");
                await client.TerminateInstanceAsync(id, reason, cancellationToken);
                break;
            case "suspend":
                if (status.IsCompleted)
                    throw Finished(id, status, "suspended");
                await client.SuspendInstanceAsync(id, reason, cancellationToken);
                break;
            case "resume":
                if (status.IsCompleted)
                    throw Finished(id, status, "resumed");
                await client.ResumeInstanceAsync(id, reason, cancellationToken);
                break;
            case "restart":
                if (!status.IsCompleted && !restartWithNewInstanceId)
                    throw new MlopsException(
                        "orchestration.running",
                        $"Instance '{id}' is {status.RuntimeStatus}: terminate it first, or restart with ?restartWithNewInstanceId=true.",
                        409
                    );
                string newId = await client.RestartAsync(id, restartWithNewInstanceId, cancellationToken);
                return ApiResponse.Json(UrisFor(newId), 202);
            default:
                throw new NotFoundException(
                    "orchestration.unknown_operation",
                    $"Unknown operation '{operation}'. Use raiseEvent/{{eventName}}, terminate, suspend, resume or restart."
                );
        }
        return ApiResponse.Json(UrisFor(id), 202);
    }

    /// <summary>Purges a finished instance's history.</summary>
    public async Task<ApiResponse> PurgeAsync(
        string id,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        var status = await client.GetInstanceAsync(id, cancellationToken) ?? throw Unknown(id);
        if (!status.IsCompleted)
            throw new MlopsException(
                "orchestration.running",
                $"Instance '{id}' is {status.RuntimeStatus}; only finished instances can be purged.",
                409
            );
        var purged = await client.PurgeInstanceAsync(id, cancellation: cancellationToken);
        return ApiResponse.Json(new { instancesDeleted = purged.PurgedInstanceCount });
    }

    /// <summary>The run's activity calls with start, end, duration and failure message (from its history).</summary>
    public async Task<ApiResponse> ActivitiesAsync(
        string id,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        _ = await client.GetInstanceAsync(id, cancellationToken) ?? throw Unknown(id);
        var spans = ActivityTimeline.FromHistory(await client.GetOrchestrationHistoryAsync(id, cancellationToken));
        return ApiResponse.Json(new { instanceId = id, activities = spans });
    }

    /// <summary>The Durable Functions status shape; input, output and custom status are embedded as JSON.</summary>
    public static object ToStatus(OrchestrationMetadata s, IList<HistoryEvent>? history) =>
        new
        {
            name = s.Name,
            instanceId = s.InstanceId,
            runtimeStatus = s.RuntimeStatus.ToString(),
            input = Embed(s.SerializedInput),
            customStatus = Embed(s.SerializedCustomStatus),
            output = s.RuntimeStatus == OrchestrationRuntimeStatus.Failed ? null : Embed(s.SerializedOutput),
            failureDetails = s.FailureDetails is { } f
                ? new { errorType = (string?)f.ErrorType, errorMessage = (string?)f.ErrorMessage }
            // Some task hub clients keep a failed run's message only as its output (DTFx stores it there): surface it.
            : s.RuntimeStatus == OrchestrationRuntimeStatus.Failed && !string.IsNullOrEmpty(s.SerializedOutput)
                ? new { errorType = (string?)null, errorMessage = (string?)FailureMessage(s.SerializedOutput) }
            : null,
            createdTime = s.CreatedAt,
            lastUpdatedTime = s.LastUpdatedAt,
            historyEvents = history?.Select(e => new
            {
                eventType = e.EventType.ToString(),
                timestamp = e.Timestamp,
                name = (e as TaskScheduledEvent)?.Name
                    ?? (e as EventRaisedEvent)?.Name
                    ?? (e as ExecutionStartedEvent)?.Name,
            }),
        };

    /// <summary>The message of a failed run's stored output: a JSON string's text, DTFx's failure object's message, or
    /// the text.</summary>
    internal static string FailureMessage(string output)
    {
        try
        {
            var e = JsonDocument.Parse(output).RootElement;
            if (e.ValueKind == JsonValueKind.String)
                return e.GetString()!;
            foreach (string name in new[] { "errorMessage", "ErrorMessage", "message", "Message" })
                if (
                    e.ValueKind == JsonValueKind.Object
                    && e.TryGetProperty(name, out var m)
                    && m.ValueKind == JsonValueKind.String
                )
                    return m.GetString()!;
            return output;
        }
        catch (JsonException)
        {
            return output;
        }
    }

    /// <summary>Stored JSON as embedded JSON; a non-JSON text (a failure message) as a JSON string.</summary>
    internal static JsonElement? Embed(string? json)
    {
        if (string.IsNullOrEmpty(json))
            return null;
        try
        {
            return JsonDocument.Parse(json).RootElement;
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(json);
        }
    }

    private static NotFoundException Unknown(string id) =>
        new("orchestration.not_found", $"Instance '{id}' does not exist.");

    private static MlopsException Finished(string id, OrchestrationMetadata s, string verb) =>
        new("orchestration.completed", $"Instance '{id}' is already {s.RuntimeStatus} and cannot be {verb}.", 409);

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
