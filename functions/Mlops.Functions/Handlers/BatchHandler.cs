using System.Text.Json;
using Microsoft.DurableTask.Client;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Functions.Hosting;
using Mlops.Pipelines.Batch;
using Mlops.Pipelines.Launching;
using Mlops.Registry;
using Mlops.Serving.Batch;

namespace Mlops.Functions.Handlers;

/// <summary>
/// Batch scoring jobs: start one (from a request or a dropped file), list a model's jobs, show one. Jobs are Durable
/// instances named by <see cref="BatchPaths.JobId"/>, so the listing reads the task hub and shows every job whatever
/// started it; a job's id is that of its input version, so starting the same version twice finds the first job.
/// </summary>
public sealed class BatchHandler(StorageServices storage, ModelRegistry registry)
{
    /// <summary>Most jobs listed for one model (newest first).</summary>
    public const int MaxListedJobs = 500;

    /// <summary>
    /// <c>POST /api/models/{model}/batch</c>: checks the model, the version or alias, the input blob and the settings
    /// now (a 400 or 404 with the fix rather than a failed job), then starts the job: 202 with its id and the Durable
    /// URIs.
    /// </summary>
    public async Task<ApiResponse> SubmitAsync(
        string model,
        Stream body,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        var settings = await RequestJson.ReadAsync<BatchSettings>(body, "batch", cancellationToken: cancellationToken)
            ?? throw new MlopsException("batch.invalid_input", "A body with \"input\" is required.");
        string input = BatchPaths.CheckInput(settings.Input);
        await BatchScoringService.ResolveVersionAsync(
            registry,
            model,
            settings.Version,
            settings.Alias,
            cancellationToken
        );
        var info = await storage.Blobs.GetInfoAsync(BatchPaths.ScoringContainer, input, cancellationToken)
            ?? throw new NotFoundException(
                "batch.input_not_found",
                $"{BatchPaths.ScoringContainer}/{input} does not exist; upload the CSV to the '{BatchPaths.ScoringContainer}' container first."
            );
        var job = settings.ToJob(model, input, info.ETag, "api");
        var (jobId, started) = await StartAsync(job, client, cancellationToken);
        var answer = new Dictionary<string, object?>
        {
            ["jobId"] = jobId,
            ["model"] = model,
            ["input"] = $"{BatchPaths.ScoringContainer}/{input}",
            ["inputETag"] = job.InputETag,
            ["output"] = $"{BatchPaths.PredictionsContainer}/{job.Output}",
            ["started"] = started,
            ["jobUri"] = $"/api/models/{model}/batch/{Uri.EscapeDataString(jobId)}",
        };
        foreach (
            var p in JsonSerializer
                .SerializeToElement(OrchestrationHandler.UrisFor(jobId), Json.Options)
                .EnumerateObject()
        )
            answer[p.Name] = p.Value;
        return ApiResponse.Json(answer, 202).WithHeader("Location", (string)answer["jobUri"]!);
    }

    /// <summary>
    /// Starts the job unless its instance exists (<see cref="OrchestrationStarts"/>: the one start policy of the app);
    /// returns the id and whether this call started it.
    /// </summary>
    public static Task<(string JobId, bool Started)> StartAsync(
        BatchJobRequest job,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(client);
        return OrchestrationStarts.TryStartOnceAsync(
            client,
            BatchScoring.Name,
            job,
            BatchPaths.JobId(job.Model, job.Input, job.InputETag),
            cancellationToken
        );
    }

    /// <summary><c>GET /api/models/{model}/batch</c>: the model's jobs, newest first.</summary>
    public async Task<ApiResponse> ListAsync(
        string model,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = $"{BatchPaths.IdPrefix}{model}-",
            FetchInputsAndOutputs = true,
            PageSize = 100,
        };
        var jobs = new List<(DateTimeOffset At, Dictionary<string, object?> Job)>();
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            // The prefix of model "a" also matches the jobs of model "a-b": the input names the model.
            if (ReadJob(instance) is not { } job || job.Model != model)
                continue;
            jobs.Add((instance.CreatedAt, View(instance, job)));
            if (jobs.Count >= MaxListedJobs)
                break;
        }
        return ApiResponse.Json(new { model, jobs = jobs.OrderByDescending(j => j.At).Select(j => j.Job) });
    }

    /// <summary><c>GET /api/models/{model}/batch/{jobId}</c>: one job, with its parts so far and its errors
    /// file.</summary>
    public async Task<ApiResponse> GetAsync(
        string model,
        string jobId,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        if (!jobId.StartsWith($"{BatchPaths.IdPrefix}{model}-", StringComparison.Ordinal))
            throw Unknown(model, jobId);
        var instance = await client.GetInstanceAsync(jobId, getInputsAndOutputs: true, cancellationToken);
        if (instance is null || ReadJob(instance) is not { } job || job.Model != model)
            throw Unknown(model, jobId);
        var view = View(instance, job);
        var parts = new List<string>();
        await foreach (
            var blob in storage.Blobs.ListAsync(
                BatchPaths.PredictionsContainer,
                job.Output + "/part-",
                cancellationToken
            )
        )
            parts.Add($"{BatchPaths.PredictionsContainer}/{blob.Name}");
        view["parts"] = parts;
        view["errorsBlob"] = $"{BatchPaths.PredictionsContainer}/{BatchPaths.Errors(job.Output)}";
        view["settings"] = new
        {
            job.Columns,
            job.ErrorThreshold,
            job.ChunkRows,
            job.Combine,
            job.Log,
            job.Explain,
            job.Alias,
            job.Trigger,
        };
        return ApiResponse.Json(view);
    }

    private static NotFoundException Unknown(string model, string jobId) =>
        new("batch.unknown_job", $"Model '{model}' has no batch job '{jobId}'.");

    private static BatchJobRequest? ReadJob(OrchestrationMetadata instance)
    {
        if (instance.Name != BatchScoring.Name || string.IsNullOrEmpty(instance.SerializedInput))
            return null;
        try
        {
            return JsonSerializer.Deserialize<BatchJobRequest>(instance.SerializedInput, Json.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static T? Read<T>(string? json)
        where T : class
    {
        if (string.IsNullOrEmpty(json))
            return null;
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>One job as the API shows it (the dashboard's Batch page reads exactly these fields).</summary>
    private static Dictionary<string, object?> View(OrchestrationMetadata instance, BatchJobRequest job)
    {
        var progress = Read<BatchProgress>(instance.SerializedCustomStatus);
        var result =
            instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed
                ? Read<BatchResult>(instance.SerializedOutput)
                : null;
        string status = instance.RuntimeStatus switch
        {
            OrchestrationRuntimeStatus.Pending => "Pending",
            OrchestrationRuntimeStatus.Completed => "Completed",
            OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated => "Failed",
            _ => "Running",
        };
        bool finished = status is "Completed" or "Failed";
        string? failure = instance.RuntimeStatus switch
        {
            OrchestrationRuntimeStatus.Failed => progress?.Failure ?? instance.FailureDetails?.ErrorMessage,
            OrchestrationRuntimeStatus.Terminated => "Terminated: " + (instance.SerializedOutput ?? "no reason given"),
            _ => null,
        };
        string? manifest = result?.Manifest ?? progress?.Manifest;
        return new Dictionary<string, object?>
        {
            ["jobId"] = instance.InstanceId,
            ["model"] = job.Model,
            ["version"] = result?.Version ?? progress?.Version ?? job.Version,
            ["input"] = $"{BatchPaths.ScoringContainer}/{job.Input}",
            ["status"] = status,
            ["rowsScored"] = result?.Rows ?? progress?.RowsScored ?? 0,
            ["rowsTotal"] = progress?.RowsTotal,
            ["errors"] = result?.Errors ?? progress?.Errors ?? 0,
            ["percent"] = status == "Completed" ? 100 : progress?.Percent ?? 0,
            ["etaSeconds"] = finished ? null : progress?.EtaSeconds,
            ["startedUtc"] = progress?.StartedUtc ?? instance.CreatedAt.UtcDateTime,
            ["finishedUtc"] = finished ? instance.LastUpdatedAt.UtcDateTime : null,
            ["output"] = $"{BatchPaths.PredictionsContainer}/{job.Output}",
            ["manifest"] = manifest is null ? null : $"{BatchPaths.PredictionsContainer}/{manifest}",
            ["failure"] = failure,
            ["trigger"] = job.Trigger,
        };
    }
}
