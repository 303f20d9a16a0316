using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Durable;
using Mlops.Functions.Hosting;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;
using Mlops.Pipelines.Training;

namespace Mlops.Functions.Functions;

/// <summary>
/// The host's own HTTP functions: health, on-demand pipeline runs and their history, and manual approval. Model
/// serving, the registry, datasets and orchestration management map their own routes from their libraries.
/// </summary>
public static class HttpFunctions
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", (HostSettings s) => Results.Ok(new { status = "ok", hostId = s.HostId, time = DateTimeOffset.UtcNow }));

        // POST /api/pipelines/{dataset}/run → 202 + instance id; the run trains on the latest accepted data.
        app.MapPost("/api/pipelines/{dataset}/run", async (string dataset, HttpContext http, IPipelineLauncher launcher, StorageServices storage, CancellationToken ct) =>
        {
            CheckDataset(dataset);
            await PipelineConfigLoader.LoadAsync(storage.Blobs, dataset, ct); // fail now, with the fix, rather than in the run
            string id = PipelineInstanceIds.ForManual(dataset);
            await launcher.StartTrainingAsync(dataset, PipelineTrigger.Manual(), id, ct);
            http.Response.Headers.Location = $"{OrchestrationManagement.Prefix}/{id}";
            return Results.Json(OrchestrationManagement.UrisFor(id), statusCode: 202);
        });

        // GET /api/pipelines/{dataset}/runs → each dropped file with the run it started (or why it did not).
        app.MapGet("/api/pipelines/{dataset}/runs", async (string dataset, HostSettings settings, StorageServices storage, DurableTaskClient client, CancellationToken ct) =>
        {
            CheckDataset(dataset);
            var receipts = await new BlobReceipts(storage.Tables, settings.HostId, DataDropped.Name).ListAsync(DataDropped.Container, dataset + "/", ct);
            var runs = new List<object>();
            foreach (var r in receipts.OrderByDescending(r => r.UpdatedAt))
            {
                var status = r.InstanceId is null ? null : await client.GetInstanceAsync(r.InstanceId, getInputsAndOutputs: true, ct);
                runs.Add(new
                {
                    blob = $"{DataDropped.Container}/{r.BlobName}", etag = r.ETag, trigger = r.Status, attempts = r.Attempts, error = r.Error, instanceId = r.InstanceId,
                    runtimeStatus = status?.RuntimeStatus.ToString(), output = status?.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? OrchestrationManagement.Embed(status.SerializedOutput) : null,
                    failure = status?.FailureDetails?.ErrorMessage,
                });
            }
            return Results.Ok(new { dataset, runs });
        });

        app.MapPost("/api/models/{model}/versions/{version:int}/approve", (string model, int version, HttpContext http, PipelineServices services, DurableTaskClient client, CancellationToken ct) =>
            DecideAsync(model, version, true, http, services, client, ct));
        app.MapPost("/api/models/{model}/versions/{version:int}/reject", (string model, int version, HttpContext http, PipelineServices services, DurableTaskClient client, CancellationToken ct) =>
            DecideAsync(model, version, false, http, services, client, ct));
    }

    /// <summary>Delivers the reviewer's decision to the run waiting for it (a durable external event).</summary>
    private static async Task<IResult> DecideAsync(string model, int version, bool approved, HttpContext http, PipelineServices services, DurableTaskClient client, CancellationToken ct)
    {
        var row = await services.Storage.Tables.GetAsync(PipelineServices.ApprovalsTable, model, version.ToString("D10"), ct)
                  ?? throw new NotFoundException("approval.not_pending", $"Version {version} of '{model}' is not waiting for approval.");
        string instanceId = row.GetString("InstanceId")!;
        var status = await client.GetInstanceAsync(instanceId, ct);
        if (status is null || status.RuntimeStatus is not (OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending))
            throw new MlopsException("approval.closed", $"The run {instanceId} that asked for approval of v{version} is {status?.RuntimeStatus.ToString() ?? "gone"}; nothing to decide.", 409);
        // The approver is who holds the key, not what the body claims.
        string by = http.Items[Security.FunctionKeyMiddleware.CallerItem] as string ?? "api";
        string? comment = null;
        if (http.Request.ContentLength is > 0)
            comment = (await RequestJson.ReadAsync<DecisionBody>(http.Request.Body, "approve", optional: true, cancellationToken: ct))?.Comment;
        await client.RaiseEventAsync(instanceId, TrainingPipeline.ApprovalEvent, new ApprovalDecision(approved, by, comment), ct);
        return Results.Json(new { model, version, decision = approved ? "approved" : "rejected", instanceId }, statusCode: 202);
    }

    /// <summary>The body of approve/reject: an optional comment (who decided is the key, not the body).</summary>
    private sealed record DecisionBody(string? Comment);

    private static void CheckDataset(string dataset)
    {
        Mlops.Core.Naming.DatasetName.Parse(dataset); // one rule for every dataset name: a typed 400 that states it
    }
}
