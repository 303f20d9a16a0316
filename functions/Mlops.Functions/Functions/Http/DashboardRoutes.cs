using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// The dashboard: its files at / (anonymous: they hold no data; the catch-all has the lowest precedence) and the JSON
// routes only its pages needed. One class per HTTP function, each a one-line hand-over (see HttpRoutes).

public sealed class Dashboard(HttpRoutes routes)
{
    [Function(nameof(Dashboard))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "{*path}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", DashboardFiles.Route);
}

public sealed class GetOrchestrationActivities(HttpRoutes routes)
{
    [Function(nameof(GetOrchestrationActivities))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/orchestrations/{id}/activities")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/orchestrations/{id}/activities");
}
