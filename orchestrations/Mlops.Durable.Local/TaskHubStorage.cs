using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DurableTask.AzureStorage;

namespace Mlops.Durable.Local;

/// <summary>Builds DTFx's storage client provider, optionally with an extra pipeline policy on all three
/// services.</summary>
public static class TaskHubStorage
{
    /// <summary>Clients for a connection string (<c>AzureWebJobsStorage</c>); <paramref name="policy"/> sees every
    /// request (counting, tracing).</summary>
    public static StorageAccountClientProvider FromConnectionString(
        string connectionString,
        HttpPipelinePolicy? policy = null
    )
    {
        if (policy is null)
            return new StorageAccountClientProvider(connectionString);
        var blob = new BlobClientOptions();
        var queue = new QueueClientOptions();
        var table = new TableClientOptions();
        blob.AddPolicy(policy, Azure.Core.HttpPipelinePosition.PerRetry);
        queue.AddPolicy(policy, Azure.Core.HttpPipelinePosition.PerRetry);
        table.AddPolicy(policy, Azure.Core.HttpPipelinePosition.PerRetry);
        return new StorageAccountClientProvider(
            StorageServiceClientProvider.ForBlob(connectionString, blob),
            StorageServiceClientProvider.ForQueue(connectionString, queue),
            StorageServiceClientProvider.ForTable(connectionString, table)
        );
    }
}
