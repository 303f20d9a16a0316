using Azure;
using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Functions.Handlers;
using Mlops.Registry;
using Mlops.Serving.Batch;

namespace Mlops.Functions.Functions;

/// <summary>
/// Event Grid blob trigger on <c>scoring/{model}/{name}</c>: a CSV starts a batch scoring job for that model, with the
/// settings of <c>{name}.json</c> beside it when there is one (upload it first), else the defaults. One job per input
/// version: the job id comes from the blob's name and ETag, so a redelivered event finds the job and starts nothing. A
/// drop that cannot be scored (a name outside the layout, an unknown model, unreadable settings) is logged with the
/// reason and the function returns: retrying cannot fix it, and the input is left as it is.
/// </summary>
public sealed class ScoringDropped(StorageServices storage, ModelRegistry registry, ILogger<ScoringDropped> log)
{
    /// <summary>The function's name.</summary>
    public const string Name = nameof(ScoringDropped);

    /// <summary>The trigger's blob path.</summary>
    public const string Path = BatchPaths.ScoringContainer + "/{model}/{name}";

    /// <summary>The Event Grid blob trigger with the durable client.</summary>
    [Function(Name)]
    public async Task Run(
        [BlobTrigger(Path, Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        string etag;
        try
        {
            etag = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ETag.ToString();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            log.LogWarning("{Blob} is gone; nothing to score", $"{BatchPaths.ScoringContainer}/{blob.Name}");
            return;
        }
        await RunAsync(blob.Name, etag, client, cancellationToken);
    }

    /// <summary>Starts (or finds) the job of one dropped blob version; null when the blob is not scored (the reason is
    /// logged).</summary>
    public async Task<string?> RunAsync(
        string blobName,
        string etag,
        DurableTaskClient client,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(blobName);
        string where = $"{BatchPaths.ScoringContainer}/{blobName}";
        if (blobName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            log.LogInformation(
                "{Blob}: settings of a batch job, not data; they apply to the CSV of the same name dropped next",
                where
            );
            return null;
        }
        if (Refusal(blobName) is { } reason)
        {
            log.LogWarning("{Blob} not scored: {Reason}", where, reason);
            return null;
        }
        string model = blobName[..blobName.IndexOf('/')];
        try
        {
            var settings = await ReadSettingsAsync(blobName, cancellationToken) ?? new BatchSettings();
            if (settings.Input is not null)
                throw new MlopsException(
                    "batch.invalid_settings",
                    "\"input\" is not used in settings beside a dropped CSV (the CSV is the input)."
                );
            await BatchScoringService.ResolveVersionAsync(
                registry,
                model,
                settings.Version,
                settings.Alias,
                cancellationToken
            );
            var job = settings.ToJob(model, blobName, etag, "drop");
            var (jobId, started) = await BatchHandler.StartAsync(job, client, cancellationToken);
            log.LogInformation(
                started
                    ? "{Blob} dropped: batch job {JobId} started"
                    : "{Blob}: batch job {JobId} exists already; nothing started",
                where,
                jobId
            );
            return jobId;
        }
        catch (MlopsException e)
        {
            log.LogWarning("{Blob} not scored: {Reason}", where, e.Message);
            return null;
        }
    }

    /// <summary>The settings beside the CSV (<c>{name}.json</c>), or null when there are none.</summary>
    private async Task<BatchSettings?> ReadSettingsAsync(string blobName, CancellationToken cancellationToken)
    {
        string name = blobName[..^".csv".Length] + ".json";
        var content = await storage.Blobs.ReadAsync(BatchPaths.ScoringContainer, name, cancellationToken);
        if (content is null)
            return null;
        try
        {
            return RequestJson.Parse<BatchSettings>(content.Data, $"{BatchPaths.ScoringContainer}/{name}");
        }
        catch (MlopsException e)
        {
            throw new MlopsException("batch.invalid_settings", $"{BatchPaths.ScoringContainer}/{name}: {e.Message}");
        }
    }

    /// <summary>Why a blob is not scored (null when it is): <c>scoring/{model}/{name}.csv</c>, plain segments
    /// only.</summary>
    public static string? Refusal(string blobName)
    {
        var segments = blobName.Split('/');
        if (segments.Any(s => s.Length == 0 || Uri.UnescapeDataString(s) is "." or ".."))
            return "names with empty, '.' or '..' segments are not scored; put the CSV directly under scoring/<model>/.";
        if (!RegistryNames.IsValid(segments[0]))
            return $"'{segments[0]}' is not a model name.";
        if (segments.Length != 2)
            return $"files in sub-folders are not scored; put the CSV directly under scoring/{segments[0]}/.";
        if (!blobName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            return "only .csv files are scored (settings go in a .json of the same name).";
        return null;
    }
}
