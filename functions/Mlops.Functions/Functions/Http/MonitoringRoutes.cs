using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// Ground-truth feedback, monitor runs and their reports.
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class PostFeedback(HttpRoutes routes)
{
    [Function(nameof(PostFeedback))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/models/{model}/feedback")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/feedback");
}

public sealed class StartMonitor(HttpRoutes routes)
{
    [Function(nameof(StartMonitor))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/monitor")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/monitor");
}

public sealed class ListMonitorRuns(HttpRoutes routes)
{
    [Function(nameof(ListMonitorRuns))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/monitoring")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/monitoring");
}

public sealed class GetMonitorReport(HttpRoutes routes)
{
    [Function(nameof(GetMonitorReport))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/monitoring/{runId}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/monitoring/{runId}");
}

public sealed class GetMonitorReportHtml(HttpRoutes routes)
{
    [Function(nameof(GetMonitorReportHtml))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/monitoring/{runId}/report.html")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/monitoring/{runId}/report.html");
}
