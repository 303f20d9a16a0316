using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Azure.Functions.Worker;

namespace Mlops.Host.TestApp;

/// <summary>
/// Blob triggers whose every run leaves a trace, so the trigger tests can count deliveries through the real worker
/// (added by the triggers part of the host; TriggerFunctions.cs belongs to the host core's tests).
/// </summary>
public static class CountingTriggerFunctions
{
    /// <summary>For every blob under <c>counted/</c>: writes a new <c>runs/counted/{name}/{guid}</c>, one per
    /// delivery.</summary>
    [Function(nameof(OnCountedBlob))]
    public static Task OnCountedBlob(
        [BlobTrigger("counted/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")]
            BlobClient blob,
        string name,
        CancellationToken cancellationToken
    ) => RecordRunAsync(blob, "counted", name, cancellationToken);

    /// <summary>For every blob under <c>failing/</c>: records the try under <c>runs/failing/{name}/</c>, then
    /// throws.</summary>
    [Function(nameof(OnFailingBlob))]
    public static async Task OnFailingBlob(
        [BlobTrigger("failing/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")]
            BlobClient blob,
        string name,
        CancellationToken cancellationToken
    )
    {
        await RecordRunAsync(blob, "failing", name, cancellationToken);
        throw new InvalidOperationException($"OnFailingBlob always fails ({name}).");
    }

    private static async Task RecordRunAsync(
        BlobClient blob,
        string kind,
        string name,
        CancellationToken cancellationToken
    )
    {
        var runs = blob.GetParentBlobContainerClient().GetParentBlobServiceClient().GetBlobContainerClient("runs");
        await runs.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await runs.GetBlobClient($"{kind}/{name}/{Guid.NewGuid():N}")
            .UploadAsync(BinaryData.FromString(blob.Name), overwrite: true, cancellationToken);
    }
}
