using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Functions.Hosting;
using Mlops.Core.Storage;
using Mlops.Functions.Triggers;
using Mlops.Monitoring.Http;

namespace Mlops.Functions.Functions;

/// <summary>
/// Blob trigger on <c>feedback/{model}/{name}.csv</c> (columns <c>predictionId,label</c>): ground truth that arrives as
/// files is joined to the logged predictions like the feedback API's batches. Once per blob version (receipts).
/// </summary>
public sealed class FeedbackDropped(StorageServices storage, IServiceProvider services, ILogger<FeedbackDropped> log)
{
    public const string Name = nameof(FeedbackDropped);
    public const string Container = MonitoringApi.DropContainer;

    public static bool Matches(string blobName) => blobName.Count(c => c == '/') == 1 && blobName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    [Function(Name)]
    public Task Run([BlobTrigger(Container + "/{model}/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken) =>
        RunAsync(new BlobTriggerEvent(Container, blob.Name, "", 0, 1), new DurableServices(client, services).MonitoringApi, cancellationToken);

    public async Task<string?> RunAsync(BlobTriggerEvent blob, MonitoringApi monitoring, CancellationToken cancellationToken = default)
    {
        var receipt = await monitoring.IngestDroppedCsvAsync(storage.Blobs, blob.Name, cancellationToken)
                      ?? throw new UnsupportedBlobException($"{Container}/{blob.Name}: put label files at {Container}/<model>/<name>.csv.");
        log.LogInformation("{Blob}: feedback ingested ({Receipt})", $"{Container}/{blob.Name}", receipt);
        return null;
    }
}
