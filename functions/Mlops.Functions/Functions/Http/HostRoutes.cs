using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// Health, on-demand pipeline runs and their history, manual approval.
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class Health(HttpRoutes routes)
{
    [Function(nameof(Health))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/health");
}

public sealed class RunPipeline(HttpRoutes routes)
{
    [Function(nameof(RunPipeline))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/pipelines/{dataset}/run")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/pipelines/{dataset}/run");
}

public sealed class ListPipelineRuns(HttpRoutes routes)
{
    [Function(nameof(ListPipelineRuns))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/pipelines/{dataset}/runs")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/pipelines/{dataset}/runs");
}

public sealed class ApproveVersion(HttpRoutes routes)
{
    [Function(nameof(ApproveVersion))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/versions/{version:int}/approve")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/versions/{version:int}/approve");
}

public sealed class RejectVersion(HttpRoutes routes)
{
    [Function(nameof(RejectVersion))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/versions/{version:int}/reject")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/versions/{version:int}/reject");
}
