using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Functions.Triggers;
using Mlops.Monitoring.Http;

namespace Mlops.Functions.Functions;

/// <summary>
/// Blob trigger on <c>feedback/{model}/{name}.csv</c> (columns <c>predictionId,label</c>): ground truth that arrives as
/// files is joined to the logged predictions like the feedback API's batches. Once per blob version (receipts).
/// </summary>
public sealed class FeedbackDropped(MonitoringApi monitoring, StorageServices storage, ILogger<FeedbackDropped> log)
{
    public const string Name = nameof(FeedbackDropped);
    public const string Container = MonitoringApi.DropContainer;

    public static bool Matches(string blobName) => blobName.Count(c => c == '/') == 1 && blobName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    public async Task<string?> RunAsync(BlobTriggerEvent blob, CancellationToken cancellationToken = default)
    {
        var receipt = await monitoring.IngestDroppedCsvAsync(storage.Blobs, blob.Name, cancellationToken)
                      ?? throw new UnsupportedBlobException($"{Container}/{blob.Name}: put label files at {Container}/<model>/<name>.csv.");
        log.LogInformation("{Blob}: feedback ingested ({Receipt})", $"{Container}/{blob.Name}", receipt);
        return null;
    }
}
