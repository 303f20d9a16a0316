using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Handlers;

namespace Mlops.Functions.Functions.Http;

/// <summary>Batch scoring over HTTP (function key, as predict): start a job on a blob of the scoring container, list
/// and show jobs.</summary>
public sealed class BatchFunctions(BatchHandler handler)
{
    [Function("SubmitBatch")]
    public async Task<IActionResult> SubmitBatch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/models/{model}/batch")] HttpRequest req,
        string model,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.SubmitAsync(model, req.Body, client, cancellationToken);

    [Function("ListBatchJobs")]
    public async Task<IActionResult> ListBatchJobs(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/batch")] HttpRequest req,
        string model,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.ListAsync(model, client, cancellationToken);

    [Function("GetBatchJob")]
    public async Task<IActionResult> GetBatchJob(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/batch/{jobId}")] HttpRequest req,
        string model,
        string jobId,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.GetAsync(model, jobId, client, cancellationToken);
}
