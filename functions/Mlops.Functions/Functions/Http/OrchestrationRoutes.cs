using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// Durable Functions' management API: status, query, events, terminate/suspend/resume/restart, purge.
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class GetOrchestration(HttpRoutes routes)
{
    [Function(nameof(GetOrchestration))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/orchestrations/{id}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/orchestrations/{id}");
}

public sealed class ListOrchestrations(HttpRoutes routes)
{
    [Function(nameof(ListOrchestrations))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/orchestrations")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/orchestrations");
}

public sealed class RaiseOrchestrationEvent(HttpRoutes routes)
{
    [Function(nameof(RaiseOrchestrationEvent))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/orchestrations/{id}/raiseEvent/{eventName}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/orchestrations/{id}/raiseEvent/{eventName}");
}

public sealed class ManageOrchestration(HttpRoutes routes)
{
    [Function(nameof(ManageOrchestration))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/orchestrations/{id}/{operation}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/orchestrations/{id}/{operation}");
}

public sealed class PurgeOrchestration(HttpRoutes routes)
{
    [Function(nameof(PurgeOrchestration))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "api/orchestrations/{id}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "DELETE", "/api/orchestrations/{id}");
}
