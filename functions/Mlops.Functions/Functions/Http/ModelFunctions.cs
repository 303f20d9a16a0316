using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// The model registry over HTTP: versions, ONNX export, aliases, promote/rollback, archive, comparison, history. Reads
/// need a function key; changes the master key (the trigger attribute is the one place a route and its level are set).
/// </summary>
public sealed class ModelFunctions(ModelHandler handler)
{
    [Function("ListModels")]
    [Returns(typeof(List<Mlops.Registry.ModelSummary>))]
    public async Task<IActionResult> ListModels(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models")] HttpRequest req,
        CancellationToken cancellationToken
    ) => await handler.ListAsync(cancellationToken);

    [Function("GetModel")]
    [Returns(typeof(Mlops.Registry.ModelDetails))]
    public async Task<IActionResult> GetModel(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await handler.GetAsync(model, cancellationToken);

    [Function("GetModelVersion")]
    public async Task<IActionResult> GetModelVersion(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/versions/{version:int}")]
            HttpRequest req,
        string model,
        int version,
        CancellationToken cancellationToken
    ) => await handler.GetVersionAsync(model, version, cancellationToken);

    [Function("GetModelVersionOnnx")]
    public async Task<IActionResult> GetModelVersionOnnx(
        [HttpTrigger(
            AuthorizationLevel.Function,
            "get",
            Route = "api/models/{model}/versions/{version:int}/model.onnx"
        )]
            HttpRequest req,
        string model,
        int version,
        CancellationToken cancellationToken
    ) => await handler.GetOnnxAsync(model, version, cancellationToken);

    [Function("GetModelVersionImportance")]
    public async Task<IActionResult> GetModelVersionImportance(
        [HttpTrigger(
            AuthorizationLevel.Function,
            "get",
            Route = "api/models/{model}/versions/{version:int}/importance"
        )]
            HttpRequest req,
        string model,
        int version,
        CancellationToken cancellationToken
    ) => await handler.GetImportanceAsync(model, version, cancellationToken);

    [Function("SetAlias")]
    public async Task<IActionResult> SetAlias(
        [HttpTrigger(AuthorizationLevel.Admin, "put", Route = "api/models/{model}/aliases/{alias}")] HttpRequest req,
        string model,
        string alias,
        CancellationToken cancellationToken
    ) => await handler.SetAliasAsync(model, alias, req.Body, Actor(req), cancellationToken);

    [Function("SetAliasPost")]
    public async Task<IActionResult> SetAliasPost(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/aliases/{alias}")] HttpRequest req,
        string model,
        string alias,
        CancellationToken cancellationToken
    ) => await handler.SetAliasAsync(model, alias, req.Body, Actor(req), cancellationToken);

    [Function("DeleteAlias")]
    public async Task<IActionResult> DeleteAlias(
        [HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "api/models/{model}/aliases/{alias}")] HttpRequest req,
        string model,
        string alias,
        CancellationToken cancellationToken
    ) => await handler.RemoveAliasAsync(model, alias, req.Body, Actor(req), cancellationToken);

    [Function("PromoteProduction")]
    public async Task<IActionResult> PromoteProduction(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/promote")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await handler.PromoteAsync(model, req.Body, Actor(req), cancellationToken);

    [Function("RollbackModel")]
    public async Task<IActionResult> RollbackModel(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/rollback")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await handler.RollbackAsync(model, req.Body, Actor(req), cancellationToken);

    [Function("ArchiveVersion")]
    public async Task<IActionResult> ArchiveVersion(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/versions/{version:int}/archive")]
            HttpRequest req,
        string model,
        int version,
        CancellationToken cancellationToken
    ) => await handler.ArchiveAsync(model, version, req.Body, Actor(req), cancellationToken);

    [Function("CompareVersions")]
    [Returns(typeof(Mlops.Registry.VersionComparison))]
    public async Task<IActionResult> CompareVersions(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/compare")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) =>
        await handler.CompareAsync(
            model,
            req.Query["a"].FirstOrDefault(),
            req.Query["b"].FirstOrDefault(),
            cancellationToken
        );

    [Function("ModelHistory")]
    [Returns(typeof(List<Mlops.Registry.HistoryEntry>))]
    public async Task<IActionResult> ModelHistory(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/history")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await handler.HistoryAsync(model, req.Query["at"].FirstOrDefault(), cancellationToken);

    private static string? Actor(HttpRequest req) => req.Headers[ModelHandler.ActorHeader].FirstOrDefault();
}
