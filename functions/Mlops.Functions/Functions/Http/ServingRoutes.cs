using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// Predictions and traffic (A/B, canary, shadow).
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class Predict(HttpRoutes routes)
{
    [Function(nameof(Predict))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/models/{model}/predict")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/predict");
}

public sealed class GetTraffic(HttpRoutes routes)
{
    [Function(nameof(GetTraffic))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/traffic")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/traffic");
}

public sealed class SetTraffic(HttpRoutes routes)
{
    [Function(nameof(SetTraffic))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "put", Route = "api/models/{model}/traffic")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "PUT", "/api/models/{model}/traffic");
}

public sealed class ServingStats(HttpRoutes routes)
{
    [Function(nameof(ServingStats))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/serving/stats")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/serving/stats");
}

public sealed class GetLiveTraffic(HttpRoutes routes)
{
    [Function(nameof(GetLiveTraffic))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/traffic/live")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/traffic/live");
}
