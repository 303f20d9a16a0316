using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// Data versions, profiles, validation reports and the editable schema.
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class ListDatasets(HttpRoutes routes)
{
    [Function(nameof(ListDatasets))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/datasets");
}

public sealed class GetDataset(HttpRoutes routes)
{
    [Function(nameof(GetDataset))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets/{dataset}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/datasets/{dataset}");
}

public sealed class GetDatasetVersion(HttpRoutes routes)
{
    [Function(nameof(GetDatasetVersion))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets/{dataset}/versions/{hash}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/datasets/{dataset}/versions/{hash}");
}

public sealed class GetSchema(HttpRoutes routes)
{
    [Function(nameof(GetSchema))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets/{dataset}/schema")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/datasets/{dataset}/schema");
}

public sealed class PutSchema(HttpRoutes routes)
{
    [Function(nameof(PutSchema))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "put", Route = "api/datasets/{dataset}/schema")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "PUT", "/api/datasets/{dataset}/schema");
}
