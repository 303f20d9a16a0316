using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

// The model registry: versions, ONNX export, aliases, promote/rollback, comparison, history.
// One class per HTTP function, each a one-line hand-over to the route the local runner serves (see HttpRoutes).

public sealed class ListModels(HttpRoutes routes)
{
    [Function(nameof(ListModels))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models");
}

public sealed class GetModel(HttpRoutes routes)
{
    [Function(nameof(GetModel))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}");
}

public sealed class GetModelVersion(HttpRoutes routes)
{
    [Function(nameof(GetModelVersion))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/versions/{version:int}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/versions/{version:int}");
}

public sealed class GetModelVersionOnnx(HttpRoutes routes)
{
    [Function(nameof(GetModelVersionOnnx))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/versions/{version:int}/model.onnx")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/versions/{version:int}/model.onnx");
}

public sealed class SetAlias(HttpRoutes routes)
{
    [Function(nameof(SetAlias))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "put", Route = "api/models/{model}/aliases/{alias}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "PUT", "/api/models/{model}/aliases/{alias}");
}

public sealed class SetAliasPost(HttpRoutes routes)
{
    [Function(nameof(SetAliasPost))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/aliases/{alias}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/aliases/{alias}");
}

public sealed class DeleteAlias(HttpRoutes routes)
{
    [Function(nameof(DeleteAlias))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "api/models/{model}/aliases/{alias}")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "DELETE", "/api/models/{model}/aliases/{alias}");
}

public sealed class PromoteProduction(HttpRoutes routes)
{
    [Function(nameof(PromoteProduction))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/promote")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/promote");
}

public sealed class RollbackModel(HttpRoutes routes)
{
    [Function(nameof(RollbackModel))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/rollback")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/rollback");
}

public sealed class ArchiveVersion(HttpRoutes routes)
{
    [Function(nameof(ArchiveVersion))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/versions/{version:int}/archive")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "POST", "/api/models/{model}/versions/{version:int}/archive");
}

public sealed class CompareVersions(HttpRoutes routes)
{
    [Function(nameof(CompareVersions))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/compare")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/compare");
}

public sealed class ModelHistory(HttpRoutes routes)
{
    [Function(nameof(ModelHistory))]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/history")] HttpRequest req, [DurableClient] DurableTaskClient client) =>
        routes.InvokeAsync(req, client, "GET", "/api/models/{model}/history");
}
