using System.Text.Json;
using DurableTask.Core.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Mlops.Core;
using Mlops.Core.Errors;

namespace Mlops.Functions.Durable;

/// <summary>
/// The orchestration management API, shaped like Durable Functions' HTTP API (status with <c>runtimeStatus</c>,
/// <c>input</c>, <c>customStatus</c>, <c>output</c>, <c>historyEvents</c>; 202 while running, 200 when done; the
/// management URIs in every start response) so Durable tooling and habits carry over. There is no route that starts
/// an orchestration by name with raw input: runs start only through the pipeline routes, which take no paths.
/// </summary>
public static class OrchestrationManagement
{
    public const string Prefix = "/api/orchestrations";

    /// <summary>The management URIs of an instance, relative to the host (never built from the request's Host header).</summary>
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

    /// <summary>Read routes (function key) and state-changing routes (admin key: see <see cref="Security.KeyLevels"/>).</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(Prefix + "/{id}", async (string id, bool? showHistory, bool? history, DurableTaskClient client, CancellationToken ct) =>
        {
            var status = await client.GetInstanceAsync(id, getInputsAndOutputs: true, ct) ?? throw Unknown(id);
            IList<HistoryEvent>? events = showHistory == true || history == true ? await client.GetOrchestrationHistoryAsync(id, ct) : null;
            return Results.Json(ToStatus(status, events), Json.Options, statusCode: status.IsCompleted ? 200 : 202);
        });

        app.MapGet(Prefix, async (HttpContext http, DurableTaskClient client, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var statuses = new List<OrchestrationRuntimeStatus>();
            foreach (string s in (q["runtimeStatus"].ToString() + "," + q["status"]).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Enum.TryParse<OrchestrationRuntimeStatus>(s, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(s, out _))
                    throw new MlopsException("orchestration.bad_status", $"Unknown runtime status '{s}'. Use one of: {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
                statuses.Add(parsed);
            }
            int top = RequestQuery.OptionalPositiveInt("top", NullIfEmpty(q["top"])) ?? 100;
            if (top > 1000) throw new MlopsException(RequestQuery.InvalidCode, "?top= must be at most 1000.");
            var query = new OrchestrationQuery
            {
                Statuses = statuses.Count > 0 ? statuses : null,
                CreatedFrom = RequestQuery.Time("createdTimeFrom", NullIfEmpty(q["createdTimeFrom"])),
                CreatedTo = RequestQuery.Time("createdTimeTo", NullIfEmpty(q["createdTimeTo"])),
                InstanceIdPrefix = NullIfEmpty(q["instanceIdPrefix"]) ?? NullIfEmpty(q["idPrefix"]),
                PageSize = top,
                FetchInputsAndOutputs = true,
            };
            var list = new List<object>();
            await foreach (var page in client.GetAllInstancesAsync(query).AsPages(pageSizeHint: top).WithCancellation(ct))
            {
                list.AddRange(page.Values.Select(s => ToStatus(s, null)));
                if (list.Count >= top) break;
            }
            return Results.Json(new { instances = list.Take(top), count = Math.Min(top, list.Count) }, Json.Options);
        });

        app.MapPost(Prefix + "/{id}/raiseEvent/{eventName}", async (string id, string eventName, HttpContext http, DurableTaskClient client, CancellationToken ct) =>
        {
            var status = await client.GetInstanceAsync(id, ct) ?? throw Unknown(id);
            if (status.IsCompleted) throw new MlopsException("orchestration.completed", $"Instance '{id}' is {status.RuntimeStatus}; it takes no more events.", 410);
            // The strict body reader every route uses: size cap, depth, valid UTF-8, finite numbers; empty means no payload.
            var payload = await RequestJson.ReadAsync<System.Text.Json.Nodes.JsonNode>(http.Request.Body, "event", optional: true, cancellationToken: ct);
            await client.RaiseEventAsync(id, eventName, payload, ct);
            return Results.Json(UrisFor(id), Json.Options, statusCode: 202);
        });

        app.MapPost(Prefix + "/{id}/{operation}", async (string id, string operation, string? reason, bool? restartWithNewInstanceId, DurableTaskClient client, CancellationToken ct) =>
        {
            var status = await client.GetInstanceAsync(id, ct) ?? throw Unknown(id);
            switch (operation)
            {
                case "terminate":
                    if (status.IsCompleted) throw Finished(id, status, "terminated");
                    await client.TerminateInstanceAsync(id, reason, ct); break;
                case "suspend":
                    if (status.IsCompleted) throw Finished(id, status, "suspended");
                    await client.SuspendInstanceAsync(id, reason, ct); break;
                case "resume":
                    if (status.IsCompleted) throw Finished(id, status, "resumed");
                    await client.ResumeInstanceAsync(id, reason, ct); break;
                case "restart":
                    if (!status.IsCompleted && restartWithNewInstanceId != true)
                        throw new MlopsException("orchestration.running", $"Instance '{id}' is {status.RuntimeStatus}: terminate it first, or restart with ?restartWithNewInstanceId=true.", 409);
                    string newId = await client.RestartAsync(id, restartWithNewInstanceId == true, ct);
                    return Results.Json(UrisFor(newId), Json.Options, statusCode: 202);
                default:
                    throw new NotFoundException("orchestration.unknown_operation", $"Unknown operation '{operation}'. Use raiseEvent/{{eventName}}, terminate, suspend, resume or restart.");
            }
            return Results.Json(UrisFor(id), Json.Options, statusCode: 202);
        });

        app.MapDelete(Prefix + "/{id}", async (string id, DurableTaskClient client, CancellationToken ct) =>
        {
            var status = await client.GetInstanceAsync(id, ct) ?? throw Unknown(id);
            if (!status.IsCompleted)
                throw new MlopsException("orchestration.running", $"Instance '{id}' is {status.RuntimeStatus}; only finished instances can be purged.", 409);
            var purged = await client.PurgeInstanceAsync(id, cancellation: ct);
            return Results.Json(new { instancesDeleted = purged.PurgedInstanceCount }, Json.Options);
        });
    }

    /// <summary>The Durable Functions status shape; input, output and custom status are embedded as JSON.</summary>
    public static object ToStatus(OrchestrationMetadata s, IList<HistoryEvent>? history) => new
    {
        name = s.Name,
        instanceId = s.InstanceId,
        runtimeStatus = s.RuntimeStatus.ToString(),
        input = Embed(s.SerializedInput),
        customStatus = Embed(s.SerializedCustomStatus),
        output = s.RuntimeStatus == OrchestrationRuntimeStatus.Failed ? null : Embed(s.SerializedOutput),
        failureDetails = s.FailureDetails is { } f ? new { errorType = f.ErrorType, errorMessage = f.ErrorMessage } : null,
        createdTime = s.CreatedAt,
        lastUpdatedTime = s.LastUpdatedAt,
        historyEvents = history?.Select(e => new { eventType = e.EventType.ToString(), timestamp = e.Timestamp, name = (e as TaskScheduledEvent)?.Name ?? (e as EventRaisedEvent)?.Name ?? (e as ExecutionStartedEvent)?.Name }),
    };

    /// <summary>Stored JSON as embedded JSON; a non-JSON text (a failure message) as a JSON string.</summary>
    internal static JsonElement? Embed(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try { return JsonDocument.Parse(json).RootElement; }
        catch (JsonException) { return JsonSerializer.SerializeToElement(json); }
    }

    private static NotFoundException Unknown(string id) => new("orchestration.not_found", $"Instance '{id}' does not exist.");

    private static MlopsException Finished(string id, OrchestrationMetadata s, string verb) =>
        new("orchestration.completed", $"Instance '{id}' is already {s.RuntimeStatus} and cannot be {verb}.", 409);

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
