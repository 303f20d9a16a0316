using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Azure.Functions.Worker;

namespace Mlops.Host.TestApp;

/// <summary>Blob (Event Grid source) and timer triggers; each leaves a blob behind so a test can see it ran.</summary>
public static class TriggerFunctions
{
    /// <summary>For every blob created under <c>incoming/</c>: writes <c>processed/{name}</c> holding the blob's
    /// length.</summary>
    [Function(nameof(OnIncomingBlob))]
    public static async Task OnIncomingBlob(
        [BlobTrigger("incoming/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")]
            BlobClient blob,
        string name,
        CancellationToken cancellationToken
    )
    {
        var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken);
        var processed = blob.GetParentBlobContainerClient()
            .GetParentBlobServiceClient()
            .GetBlobContainerClient("processed");
        await processed.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await processed
            .GetBlobClient(name)
            .UploadAsync(
                BinaryData.FromString(properties.Value.ContentLength.ToString()),
                overwrite: true,
                cancellationToken
            );
    }

    /// <summary>On the schedule in the TEST_SCHEDULE setting: writes <c>ticks/{utc ticks}</c> holding the TimerInfo's
    /// IsPastDue.</summary>
    [Function(nameof(OnTimer))]
    public static async Task OnTimer(
        [TimerTrigger("%TEST_SCHEDULE%")] TimerInfo timer,
        CancellationToken cancellationToken
    )
    {
        var service = new BlobServiceClient(Environment.GetEnvironmentVariable("AzureWebJobsStorage"));
        var ticks = service.GetBlobContainerClient("ticks");
        await ticks.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await ticks
            .GetBlobClient(DateTime.UtcNow.Ticks.ToString("D20"))
            .UploadAsync(
                new BinaryData(Encoding.UTF8.GetBytes(timer.IsPastDue.ToString())),
                overwrite: true,
                cancellationToken
            );
    }
}
