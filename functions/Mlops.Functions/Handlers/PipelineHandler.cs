using System.Text.Json;
using Microsoft.DurableTask.Client;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Functions.Functions;
using Mlops.Functions.Hosting;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;
using Mlops.Pipelines.Training;

namespace Mlops.Functions.Handlers;

/// <summary>
/// Training runs on demand and their listing, and the manual approval decision. The listing reads the task hub
/// itself, so it shows every run of a dataset whatever started it (a drop, a schedule, the monitor, an API call) in
/// Azure as locally; drops the app refused (<see cref="DropRefusals"/>) are listed with the reason.
/// </summary>
public sealed class PipelineHandler(StorageServices storage)
{
    /// <summary>Most runs listed for one dataset (newest first).</summary>
    public const int MaxListedRuns = 1000;

    /// <summary>
    /// Starts a run on the latest accepted data: 202 with the Durable management URIs. The dataset's config is read
    /// first, so a missing or broken mlops.json fails now, with the fix, rather than in the run.
    /// </summary>
    public async Task<ApiResponse> RunAsync(
        string dataset,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        Mlops.Core.Naming.DatasetName.Parse(dataset); // one rule for every dataset name: a typed 400 that states it
        await PipelineConfigLoader.LoadAsync(storage.Blobs, dataset, cancellationToken);
        string id = PipelineInstanceIds.ForManual(dataset);
        await new DurablePipelineLauncher(client).StartTrainingAsync(
            dataset,
            PipelineTrigger.Manual(),
            id,
            cancellationToken
        );
        return ApiResponse
            .Json(OrchestrationHandler.UrisFor(id), 202)
            .WithHeader("Location", $"{OrchestrationHandler.Prefix}/{id}");
    }

    /// <summary>
    /// Every training run of the dataset, newest first, from the task hub: instance ids all start with
    /// <c>train-{dataset}-</c> (<see cref="PipelineInstanceIds"/>), and the input names the dataset, which tells
    /// <c>train-a-b-…</c> of dataset <c>a-b</c> from a run of dataset <c>a</c>. A run started by a drop carries the
    /// blob.
    /// </summary>
    public async Task<ApiResponse> ListRunsAsync(
        string dataset,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        Mlops.Core.Naming.DatasetName.Parse(dataset);
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = $"train-{dataset}-",
            FetchInputsAndOutputs = true,
            PageSize = 100,
        };
        var runs = new List<(DateTimeOffset At, object Run)>();
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            if (
                !ReadRequest(instance.SerializedInput, out string? inputDataset, out var trigger)
                || inputDataset != dataset
            )
                continue;
            runs.Add(
                (
                    instance.CreatedAt,
                    new
                    {
                        instanceId = instance.InstanceId,
                        name = instance.Name,
                        runtimeStatus = instance.RuntimeStatus.ToString(),
                        trigger = trigger.Kind,
                        blob = trigger.Blob is null ? null : $"{DataDropped.Container}/{trigger.Blob}",
                        etag = trigger.ETag,
                        createdTime = instance.CreatedAt,
                        lastUpdatedTime = instance.LastUpdatedAt,
                        customStatus = OrchestrationHandler.Embed(instance.SerializedCustomStatus),
                        output = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed
                            ? OrchestrationHandler.Embed(instance.SerializedOutput)
                            : null,
                        failure = instance.FailureDetails?.ErrorMessage,
                    }
                )
            );
            if (runs.Count >= MaxListedRuns)
                break;
        }
        foreach (var refusal in await new DropRefusals(storage.Tables).ListAsync(dataset, cancellationToken))
        {
            runs.Add(
                (
                    refusal.At,
                    new
                    {
                        instanceId = (string?)null,
                        runtimeStatus = (string?)null,
                        trigger = "refused",
                        blob = $"{DataDropped.Container}/{refusal.Blob}",
                        createdTime = refusal.At,
                        error = refusal.Reason,
                    }
                )
            );
        }
        return ApiResponse.Json(new { dataset, runs = runs.OrderByDescending(r => r.At).Select(r => r.Run) });
    }

    /// <summary>
    /// The newest drops the app refused, of every dataset — a name that is not a usable dataset name included, which no
    /// dataset's run listing can show —, with the blob and the reason (at most <see cref="MaxListedRuns"/>).
    /// </summary>
    public async Task<ApiResponse> ListRefusedDropsAsync(CancellationToken cancellationToken = default)
    {
        var refused = await new DropRefusals(storage.Tables).ListNewestAsync(MaxListedRuns, cancellationToken);
        return ApiResponse.Json(
            refused.Select(x => new
            {
                dataset = x.Dataset,
                blob = $"{DataDropped.Container}/{x.Refusal.Blob}",
                reason = x.Refusal.Reason,
                at = x.Refusal.At,
            })
        );
    }

    /// <summary>
    /// Delivers a reviewer's decision to the run waiting for it: the one approval path (the dashboard, the CLI through
    /// the API, any client) is this durable external event; the run then records it on the version. The approver is
    /// <paramref name="caller"/> — the fingerprint of the key the request carried — never what the body claims.
    /// </summary>
    public async Task<ApiResponse> DecideAsync(
        string model,
        int version,
        bool approved,
        string caller,
        Stream body,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        var row = await storage.Tables.GetAsync(
            PipelineServices.ApprovalsTable,
            model,
            version.ToString("D10"),
            cancellationToken
        )
            ?? throw new NotFoundException(
                "approval.not_pending",
                $"Version {version} of '{model}' is not waiting for approval."
            );
        string instanceId = row.GetString("InstanceId")!;
        var status = await client.GetInstanceAsync(instanceId, cancellationToken);
        if (
            status is null
            || status.RuntimeStatus is not (OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending)
        )
            throw new MlopsException(
                "approval.closed",
                $"The run {instanceId} that asked for approval of v{version} is {status?.RuntimeStatus.ToString() ?? "gone"}; "
                    + "nothing to decide.",
                409
            );
        var request = await RequestJson.ReadAsync<DecisionRequest>(
            body,
            approved ? "approve" : "reject",
            optional: true,
            cancellationToken: cancellationToken
        );
        string? comment = request?.Comment ?? request?.Reason;
        await client.RaiseEventAsync(
            instanceId,
            TrainingPipeline.ApprovalEvent,
            new ApprovalDecision(approved, caller, comment),
            cancellationToken
        );
        // The run records the decision on the version itself (RecordApproval activity), once, however often this is
        // called.
        return ApiResponse.Json(
            new
            {
                model,
                version,
                decision = approved ? "approved" : "rejected",
                instanceId,
                by = caller,
            },
            202
        );
    }

    /// <summary>Reads the dataset and trigger from a stored <see cref="TrainingRequest"/> (camelCase or
    /// PascalCase).</summary>
    private static bool ReadRequest(
        string? json,
        out string? dataset,
        out (string? Kind, string? Blob, string? ETag) trigger
    )
    {
        dataset = null;
        trigger = default;
        if (string.IsNullOrEmpty(json))
            return false;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return false;
            dataset = Property(doc.RootElement, "dataset") is { ValueKind: JsonValueKind.String } d
                ? d.GetString()
                : null;
            if (Property(doc.RootElement, "trigger") is { ValueKind: JsonValueKind.Object } t)
                trigger = (Text(t, "kind"), Text(t, "blobName"), Text(t, "blobETag"));
            return dataset is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? Text(JsonElement parent, string name) =>
        Property(parent, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static JsonElement? Property(JsonElement parent, string name)
    {
        foreach (var p in parent.EnumerateObject())
            if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                return p.Value;
        return null;
    }
}
