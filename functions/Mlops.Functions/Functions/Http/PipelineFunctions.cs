using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Handlers;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// Training runs over HTTP: start one on demand (master key), list a dataset's runs (function key), and decide a
/// version waiting for manual approval (master key; the approver is the key the request carried).
/// </summary>
public sealed class PipelineFunctions(PipelineHandler handler)
{
    [Function("RunPipeline")]
    public async Task<IActionResult> RunPipeline(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/pipelines/{dataset}/run")] HttpRequest req,
        string dataset,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.RunAsync(dataset, client, cancellationToken);

    [Function("ListPipelineRuns")]
    public async Task<IActionResult> ListPipelineRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/pipelines/{dataset}/runs")] HttpRequest req,
        string dataset,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.ListRunsAsync(dataset, client, cancellationToken);

    [Function("ListRefusedDrops")]
    public async Task<IActionResult> ListRefusedDrops(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/drops/refused")] HttpRequest req,
        CancellationToken cancellationToken
    ) => await handler.ListRefusedDropsAsync(cancellationToken);

    [Function("ApproveVersion")]
    public async Task<IActionResult> ApproveVersion(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/versions/{version:int}/approve")]
            HttpRequest req,
        string model,
        int version,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) =>
        await handler.DecideAsync(
            model,
            version,
            approved: true,
            CallerIdentity.Of(req),
            req.Body,
            client,
            cancellationToken
        );

    [Function("RejectVersion")]
    public async Task<IActionResult> RejectVersion(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/versions/{version:int}/reject")]
            HttpRequest req,
        string model,
        int version,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) =>
        await handler.DecideAsync(
            model,
            version,
            approved: false,
            CallerIdentity.Of(req),
            req.Body,
            client,
            cancellationToken
        );
}
