using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// Experiment tracking: runs, comparisons, groups, sweeps (RunEndpoints).
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class ListRuns(HttpRoutes routes)
{
    [Function(nameof(ListRuns))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/runs");
}

public sealed class CompareRuns(HttpRoutes routes)
{
    [Function(nameof(CompareRuns))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs/compare")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/runs/compare");
}

public sealed class GroupRuns(HttpRoutes routes)
{
    [Function(nameof(GroupRuns))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs/groups")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/runs/groups");
}

public sealed class GetRun(HttpRoutes routes)
{
    [Function(nameof(GetRun))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs/{runId}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/runs/{runId}");
}

public sealed class ReindexRuns(HttpRoutes routes)
{
    [Function(nameof(ReindexRuns))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/runs/reindex")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/runs/reindex");
}

public sealed class GetSweep(HttpRoutes routes)
{
    [Function(nameof(GetSweep))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/sweeps/{pipelineId}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/sweeps/{pipelineId}");
}
