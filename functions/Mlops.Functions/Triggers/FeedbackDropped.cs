using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Functions.Handlers;
using Mlops.Monitoring.Http;

namespace Mlops.Functions.Functions;

/// <summary>
/// Event Grid blob trigger on <c>feedback/{model}/{name}.csv</c> (columns <c>predictionId,label</c>): ground truth that
/// arrives as files is joined to the logged predictions like the feedback API's batches. Labels are keyed by prediction
/// id, so a redelivered event stores nothing twice. A blob that is not a label file is logged and skipped (retrying
/// cannot make it one); a malformed CSV throws, so the host retries and then parks it in the poison queue.
/// </summary>
public sealed class FeedbackDropped(StorageServices storage, MonitoringHandler monitoring, ILogger<FeedbackDropped> log)
{
    /// <summary>The function's name.</summary>
    public const string Name = nameof(FeedbackDropped);

    /// <summary>The feedback drop zone.</summary>
    public const string Container = MonitoringApi.DropContainer;

    /// <summary>The Event Grid blob trigger.</summary>
    [Function(Name)]
    public Task Run(
        [BlobTrigger(
            Container + "/{model}/{name}",
            Source = BlobTriggerSource.EventGrid,
            Connection = "AzureWebJobsStorage"
        )]
            BlobClient blob,
        CancellationToken cancellationToken
    ) => RunAsync(blob.Name, cancellationToken);

    /// <summary>Ingests one dropped label file; false when the blob is not one (or is gone).</summary>
    public async Task<bool> RunAsync(string blobName, CancellationToken cancellationToken = default)
    {
        var receipt = await monitoring.PlainApi.IngestDroppedCsvAsync(storage.Blobs, blobName, cancellationToken);
        if (receipt is null)
        {
            log.LogWarning(
                "{Blob} skipped: put label files at {Container}/<model>/<name>.csv (columns predictionId,label)",
                $"{Container}/{blobName}",
                Container
            );
            return false;
        }
        log.LogInformation("{Blob}: feedback ingested ({Receipt})", $"{Container}/{blobName}", receipt);
        return true;
    }
}
