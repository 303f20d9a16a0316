using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Handlers;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// Durable Functions' management API, on the invocation's durable client: status and listings (function key);
/// events, terminate/suspend/resume/restart and purge (master key).
/// </summary>
public sealed class OrchestrationFunctions(OrchestrationHandler handler)
{
    [Function("GetOrchestration")]
    public async Task<IActionResult> GetOrchestration(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/orchestrations/{id}")] HttpRequest req,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) =>
        await handler.GetAsync(
            id,
            IsTrue(req.Query["showHistory"]) || IsTrue(req.Query["history"]),
            client,
            cancellationToken
        );

    [Function("ListOrchestrations")]
    public async Task<IActionResult> ListOrchestrations(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/orchestrations")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        var q = req.Query;
        string statuses = string.Join(",", q["runtimeStatus"].Concat(q["status"]));
        string? prefix = q["instanceIdPrefix"].FirstOrDefault() is { Length: > 0 } p
            ? p
            : q["idPrefix"].FirstOrDefault();
        return await handler.ListAsync(
            statuses,
            q["createdTimeFrom"],
            q["createdTimeTo"],
            prefix,
            q["top"],
            client,
            cancellationToken
        );
    }

    [Function("GetOrchestrationActivities")]
    public async Task<IActionResult> GetOrchestrationActivities(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/orchestrations/{id}/activities")] HttpRequest req,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.ActivitiesAsync(id, client, cancellationToken);

    [Function("RaiseOrchestrationEvent")]
    public async Task<IActionResult> RaiseOrchestrationEvent(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/orchestrations/{id}/raiseEvent/{eventName}")]
            HttpRequest req,
        string id,
        string eventName,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.RaiseEventAsync(id, eventName, req.Body, client, cancellationToken);

    [Function("ManageOrchestration")]
    public async Task<IActionResult> ManageOrchestration(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/orchestrations/{id}/{operation}")] HttpRequest req,
        string id,
        string operation,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) =>
        await handler.ManageAsync(
            id,
            operation,
            req.Query["reason"].FirstOrDefault(),
            IsTrue(req.Query["restartWithNewInstanceId"]),
            client,
            cancellationToken
        );

    [Function("PurgeOrchestration")]
    public async Task<IActionResult> PurgeOrchestration(
        [HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "api/orchestrations/{id}")] HttpRequest req,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.PurgeAsync(id, client, cancellationToken);

    private static bool IsTrue(Microsoft.Extensions.Primitives.StringValues value) =>
        bool.TryParse(value.FirstOrDefault(), out bool b) && b;
}
