using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;

namespace Mlops.Functions.Functions.Http;

/// <summary>Datasets over HTTP: every dataset, its versions, one version's reports, the schema (replace: master
/// key).</summary>
public sealed class DatasetFunctions(DatasetHandler handler)
{
    [Function("ListDatasets")]
    public async Task<IActionResult> ListDatasets(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets")] HttpRequest req,
        CancellationToken cancellationToken
    ) => await handler.ListAsync(cancellationToken);

    [Function("GetDataset")]
    public async Task<IActionResult> GetDataset(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets/{dataset}")] HttpRequest req,
        string dataset,
        CancellationToken cancellationToken
    ) => await handler.GetAsync(dataset, cancellationToken);

    [Function("GetDatasetVersion")]
    public async Task<IActionResult> GetDatasetVersion(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets/{dataset}/versions/{hash}")]
            HttpRequest req,
        string dataset,
        string hash,
        CancellationToken cancellationToken
    ) => await handler.GetVersionAsync(dataset, hash, cancellationToken);

    [Function("GetSchema")]
    public async Task<IActionResult> GetSchema(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/datasets/{dataset}/schema")] HttpRequest req,
        string dataset,
        CancellationToken cancellationToken
    ) => await handler.GetSchemaAsync(dataset, cancellationToken);

    [Function("PutSchema")]
    public async Task<IActionResult> PutSchema(
        [HttpTrigger(AuthorizationLevel.Admin, "put", Route = "api/datasets/{dataset}/schema")] HttpRequest req,
        string dataset,
        CancellationToken cancellationToken
    ) => await handler.PutSchemaAsync(dataset, req.Body, cancellationToken);
}
